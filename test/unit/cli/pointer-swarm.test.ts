/** Site addresses as `get` reads them, and its one-line refusal of a malformed one (no network: nothing is joined). */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UsageError } from '../../../engine/errors.js'
import { toHex } from '../../../engine/util/bytes.js'
import { parseSiteAddress } from '../../../cli/lib/pointer-swarm.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'
import { cliPath, removeBundle, runCli } from './helpers.js'

const KEY = '8543d3e6115f0f98c944077a4493dcd543e49c739fd998550a1f614ab36ed63e'

describe('parseSiteAddress', () => {
  it('reads a btpk magnet (with salt and trackers) and a bare public key; leaves everything else to the infohash parser', () => {
    const a = parseSiteAddress(`magnet:?xs=urn:btpk:${KEY}&s=6e&tr=ws%3A%2F%2F127.0.0.1%3A8000&tr=wss%3A%2F%2Ft.example`)!
    expect(toHex(a.publicKey)).toBe(KEY)
    expect(toHex(a.salt)).toBe('6e')
    expect(a.trackers).toEqual(['ws://127.0.0.1:8000', 'wss://t.example'])
    const b = parseSiteAddress(` ${KEY.toUpperCase()} `)!
    expect(toHex(b.publicKey)).toBe(KEY)
    expect(b.trackers).toEqual([])
    expect(parseSiteAddress(`magnet:?xt=urn:btih:${'ab'.repeat(20)}`)).toBeUndefined()
    expect(parseSiteAddress('ab'.repeat(20))).toBeUndefined()
    expect(parseSiteAddress('./site.torrent')).toBeUndefined()
  })

  it('refuses a malformed btpk magnet with a UsageError', () => {
    expect(() => parseSiteAddress('magnet:?xs=urn:btpk:1234')).toThrow(UsageError)
    expect(() => parseSiteAddress(`magnet:?xs=urn:btpk:${KEY}&s=zz`)).toThrow(/salt/)
  })
})

describe('peersite get <site address>', () => {
  let tmp: TempDir
  beforeAll(async () => {
    tmp = await makeTempDir('peersite-addr-')
    await cliPath()
  }, 60_000)
  afterAll(async () => {
    await tmp.cleanup()
    await removeBundle()
  })

  it('a malformed address is one error line, exit 1, nothing written', async () => {
    const result = await runCli(['get', 'magnet:?xs=urn:btpk:abcd', '--out', join(tmp.path, 'out')])
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/^peersite: error: magnet link's btpk is not a 64-hex public key: abcd/)
    expect(result.code).toBe(1)
  })
})
