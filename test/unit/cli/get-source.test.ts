/** What `peersite get` accepts as a source, and the one-line errors for what it does not. */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { UsageError } from '../../../engine/errors.js'
import { parseGetSource } from '../../../cli/lib/get-source.js'
import { publishSite } from '../../../cli/lib/publish.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'
import { copyHello, makeLoaderDir } from './helpers.js'

const HASH = '0123456789abcdef0123456789abcdef01234567'
let dir: TempDir | undefined
afterEach(async () => { await dir?.cleanup() })

describe('parseGetSource', () => {
  it('reads a hex infohash, in either case', async () => {
    expect(await parseGetSource(HASH)).toMatchObject({ infoHash: HASH, trackers: [], kind: 'infohash' })
    expect((await parseGetSource(HASH.toUpperCase())).infoHash).toBe(HASH)
  })

  it('reads a base32 infohash', async () => {
    // 20 zero bytes are 32 'A's in base32.
    expect((await parseGetSource('A'.repeat(32))).infoHash).toBe('0'.repeat(40))
  })

  it('reads a magnet URI with its trackers and name', async () => {
    const magnet = `magnet:?xt=urn:btih:${HASH}&dn=my%20site&tr=${encodeURIComponent('ws://127.0.0.1:8000')}&tr=${encodeURIComponent('wss://t.example.org')}`
    expect(await parseGetSource(magnet)).toMatchObject({
      infoHash: HASH, name: 'my site', trackers: ['ws://127.0.0.1:8000', 'wss://t.example.org'], kind: 'magnet'
    })
  })

  it('reads a .torrent file made by publish, with its metainfo', async () => {
    dir = await makeTempDir('peersite-get-')
    const site = await copyHello(dir.path)
    const published = await publishSite({ dir: site, trackers: ['ws://127.0.0.1:8000'], loaderDir: await makeLoaderDir(dir.path) })
    const source = await parseGetSource(join(published.out, 'site.torrent'))
    expect(source.kind).toBe('torrent')
    expect(source.infoHash).toBe(published.infoHash)
    expect(source.metainfo?.info).toEqual(published.metainfo.info)
    expect(source.trackers).toEqual(['ws://127.0.0.1:8000'])
  })

  it.each([
    ['a 39-digit infohash', HASH.slice(1), /not an infohash, magnet URI or \.torrent file: 123456789abcdef0123456789abcdef01234567 \(an infohash is 40 hex digits/],
    ['a non-hex infohash', 'z'.repeat(40), /not an infohash, magnet URI or \.torrent file: z{40}/],
    ['a word', 'xyz', /^not an infohash, magnet URI or \.torrent file: xyz$/],
    ['a magnet without an infohash', 'magnet:?dn=site', /invalid magnet URI \(no xt=urn:btih: infohash\)/],
    ['a magnet with a malformed infohash', `magnet:?xt=urn:btih:${'z'.repeat(40)}`, /invalid magnet URI \(the infohash "z{40}" is not 40 hex digits/],
    ['a magnet with a short infohash', 'magnet:?xt=urn:btih:abc123', /invalid magnet URI/],
    // A word that looks like a path is said to be a missing file, not a bad infohash.
    ['a missing file', './no/such/site.torrent', /^no such file: \.\/no\/such\/site\.torrent$/],
    ['a missing .torrent file', 'nonexist.torrent', /^no such file: nonexist\.torrent$/],
    ['a missing path', 'no/such/thing', /^no such file: no\/such\/thing$/],
    ['a folder', '.', /^not an infohash, magnet URI or \.torrent file: \.$/],
    ['a folder given as a path', './', /^not a \.torrent file: \.\/ is a folder$/],
    ['a URL', 'https://example.org/site.torrent', /^not an infohash, magnet URI or \.torrent file: https:\/\/example\.org\/site\.torrent$/]
  ])('refuses %s', async (_what, input, message) => {
    const err = await parseGetSource(input).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect((err as Error).message).toMatch(message)
  })

  it.each([
    ['garbage bytes', Buffer.from('this is not bencoding at all')],
    ['a hostile length prefix', Buffer.from('d1:a-3:xxe')],
    ['bencoding without an info dictionary', Buffer.from('d8:announce3:abce')],
    ['an info dictionary with a traversing path', Buffer.from('d4:infod5:filesld6:lengthi1e4:pathl2:..1:xeee4:name1:s12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee')]
  ])('refuses a .torrent file holding %s', async (_what, bytes) => {
    dir = await makeTempDir('peersite-get-')
    const file = join(dir.path, 'bad.torrent')
    await writeFile(file, bytes)
    const err = await parseGetSource(file).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect((err as Error).message).toContain(`not a valid .torrent file: ${file}`)
  })
})
