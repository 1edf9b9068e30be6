/**
 * The browser bundles carry codes instead of the words of the engine's peer, tracker and connection errors
 * (scripts/error-codes.mjs); Node keeps the words. Checked here: what the replacement does to a source, that every
 * listed file exists and has messages, and that the built loader script has the codes, not the words.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { bundleOptions, firstVisitBundle, root } from '../../scripts/browser-bundles.mjs'
import { CODED, codeMessages, errorCodeTable } from '../../scripts/error-codes.mjs'

describe('error codes', () => {
  it('replaces a literal message by its code and a template\'s by its code and values, nothing else', () => {
    const table = new Map([['silent', { code: 'E1' }], ['piece {0} of {1}', { code: 'E2' }]])
    const source = [
      'const a = new Error(\'silent\')',
      'throw new ProtocolError(`piece ${index} of ${count + 1}`, { cause })',
      'const b = new Error(message)',
      'const c = new Map([[\'silent\', 1]])'
    ].join('\n')
    expect(codeMessages(source, 'x.ts', table)).toBe([
      'const a = new Error(\'E1\')',
      'throw new ProtocolError(`E2 ${index} ${count + 1}`, { cause })',
      'const b = new Error(message)',
      'const c = new Map([[\'silent\', 1]])'
    ].join('\n'))
  })

  it('lists files that exist, each with messages, and gives each message one code', () => {
    for (const file of CODED) expect(existsSync(join(root, file)), file).toBe(true)
    const table = errorCodeTable()
    const where = new Set([...table.values()].map((e) => e.where.split(':')[0]))
    for (const file of CODED.filter((f) => f !== 'engine/transport/index.ts' && f !== 'engine/peer-policy.ts')) expect(where.has(file), file).toBe(true)
    const codes = [...table.values()].map((e) => e.code)
    expect(new Set(codes).size).toBe(codes.length)
  })

  it('the loader script a first visit gets has the codes, not the words', async () => {
    const result = await build({ ...bundleOptions(firstVisitBundle('loader/main.ts')), write: false, logLevel: 'silent' })
    const js = result.outputFiles[0]!.text
    const table = errorCodeTable()
    expect(js).not.toContain('extended handshake is not a dictionary')
    expect(js).toContain(`"${table.get('extended handshake is not a dictionary')!.code}"`)
    expect(js).not.toContain('info dictionary has no name')
    // The reader's keep their words: the worker's failure page shows them.
    expect(js).toContain('read beyond the torrent')
  })
})
