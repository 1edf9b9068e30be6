/**
 * site.torrent as the loader reads it (loader/engine-host.ts parseTorrentFile): its info dictionary must hash to the
 * infohash peersite.json names, checked before the dictionary's own checks, so that a file that is not the site's
 * (stale, cut short, altered) is named as such; the checks, whose messages the browser bundles carry as codes
 * (scripts/error-codes.mjs), see only a dictionary its publisher made.
 */
import { describe, expect, it } from 'vitest'
import { InvalidTorrentError } from '../../../engine/errors.js'
import { concatBytes, sha1, toHex, utf8 } from '../../../engine/util/bytes.js'
import { parseTorrentFile } from '../../../loader/engine-host.js'
import type { SiteManifest } from '../../../worker/protocol.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'

const torrentFile = (info: Uint8Array): Uint8Array => concatBytes([utf8.encode('d8:announce5:ws://4:info'), info, utf8.encode('e')])
const manifestOf = (infoHash: string): SiteManifest => ({ infoHash }) as SiteManifest
/** An info dictionary that fails a check: a piece length of 0. */
const invalid = utf8.encode(`d6:lengthi5e4:name1:a12:piece lengthi0e6:pieces20:${'x'.repeat(20)}e`)

describe('site.torrent', () => {
  it('gives the metainfo of the infohash peersite.json names', async () => {
    const { metainfo } = await makeTorrent([{ path: 'index.html', data: randomData(1000, 1) }], 16384)
    expect((await parseTorrentFile(torrentFile(metainfo.info), manifestOf(metainfo.infoHash.toUpperCase()))).infoHash).toBe(metainfo.infoHash)
  })

  it('that is not the site\'s is named so, before the info dictionary is checked', async () => {
    const { metainfo } = await makeTorrent([{ path: 'index.html', data: randomData(1000, 1) }], 16384)
    // An altered dictionary that would also fail a check: the infohash is what is wrong with it.
    const altered = toHex(await sha1(invalid))
    await expect(parseTorrentFile(torrentFile(invalid), manifestOf(metainfo.infoHash))).rejects.toThrow(`site.torrent (${altered}) is not the torrent of ${metainfo.infoHash}`)
  })

  it('whose dictionary hashes right but fails a check is refused by that check', async () => {
    const infoHash = toHex(await sha1(invalid))
    await expect(parseTorrentFile(torrentFile(invalid), manifestOf(infoHash))).rejects.toBeInstanceOf(InvalidTorrentError)
  })
})
