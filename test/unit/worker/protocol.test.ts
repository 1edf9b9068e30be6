import { describe, expect, it } from 'vitest'
import { INDEX_SCRIPT, LOADER_FILES, RESERVED_ROOT_FILES } from '../../../worker/protocol.js'

describe('protocol', () => {
  it('reserves the loader files but its two pages, and the index script, at the site root', () => {
    // Written out in protocol.ts (sw.js carries the list, not the code that derives it).
    expect([...RESERVED_ROOT_FILES].sort()).toEqual([...LOADER_FILES.filter((f) => f !== 'index.html' && f !== '404.html'), INDEX_SCRIPT].sort())
  })
})
