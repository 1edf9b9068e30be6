import { describe, expect, it } from 'vitest'
import { commandOf } from '../../../cli/lib/short-run.js'

describe('commandOf (which command gets V8 tuned for a short run)', () => {
  it('is the first word that is not an option', () => {
    expect(commandOf(['publish', './site', '--no-seed'])).toBe('publish')
    expect(commandOf(['--json', 'publish', './site'])).toBe('publish')
    expect(commandOf(['seed', 'site-peersite'])).toBe('seed')
  })

  it('is undefined when there is none', () => {
    expect(commandOf([])).toBeUndefined()
    expect(commandOf(['--version'])).toBeUndefined()
  })
})
