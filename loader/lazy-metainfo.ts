/**
 * The engine of a site with a sectioned index (worker/site-index.ts) starts before it has the info dictionary:
 * site.torrent holds the whole file table (hundreds of KB for 10,000 files), which the first page must not wait for.
 *
 * It starts from peersite.json's layout (infohash, piece length, length) with an empty file table and an empty piece
 * table. Each read the worker opens carries the SHA-1 of its pieces, from sections the worker checked against
 * peersite.json (worker/protocol.ts EngineRequest `read`); they are installed here before the read raises its
 * pieces, so the engine verifies every piece it downloads as before. Nothing else is fetched meanwhile: the
 * background is held until the first page has loaded (prefetch.ts), and then site.torrent arrives (checked against
 * the infohash) and completes the metainfo in place (upgradeMetainfo): the whole-site prefetch and BEP 9 for other
 * peers work from then on.
 */
import type { Metainfo } from '../engine/metainfo/index.js'
import { fromHex } from '../engine/util/bytes.js'
import type { SiteManifest } from '../worker/protocol.js'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Which pieces' hashes a lazy metainfo holds (absent: not lazy). */
const knownOf = /* @__PURE__ */ new WeakMap<Metainfo, Uint8Array>()

/** A metainfo from peersite.json's layout: no files, no info dictionary, no piece hash known yet. */
export function lazyMetainfo (manifest: Pick<SiteManifest, 'infoHash' | 'name' | 'pieceLength' | 'length'>): Metainfo {
  const pieceCount = Math.ceil(manifest.length / manifest.pieceLength)
  const metainfo: Metainfo = {
    infoHash: manifest.infoHash.toLowerCase(),
    infoHashBytes: fromHex(manifest.infoHash),
    info: new Uint8Array(0),
    name: manifest.name,
    pieceLength: manifest.pieceLength,
    pieceCount,
    length: manifest.length,
    pieceHashes: new Uint8Array(pieceCount * 20),
    files: [],
    multiFile: true
  }
  knownOf.set(metainfo, new Uint8Array(pieceCount))
  return metainfo
}

/** Whether `metainfo` was started without its info dictionary (and the reads must bring the hashes). */
export function isLazy (metainfo: Metainfo): boolean {
  return knownOf.has(metainfo)
}

/**
 * Installs the hashes a read brings (from sections the worker checked): `hashes` ends with piece `last`'s 20 bytes
 * and covers at least `first`..`last`. Hashes already known are kept. False when it does not fit.
 */
export function installHashes (metainfo: Metainfo, first: number, last: number, hashes: ArrayBuffer): boolean {
  const known = knownOf.get(metainfo)
  const bytes = new Uint8Array(hashes)
  const from = last + 1 - bytes.length / 20
  if (known === undefined || !(Number.isInteger(from) && from >= 0 && from <= first && first <= last && last < metainfo.pieceCount)) return false
  for (let i = first; i <= last; i++) {
    if (known[i] === 1) continue
    metainfo.pieceHashes.set(bytes.subarray((i - from) * 20, (i - from) * 20 + 20), i * 20)
    known[i] = 1
  }
  return true
}

/**
 * Completes a lazy metainfo with the real one (parsed from site.torrent, which hashes to the infohash), in place: the
 * torrent's downloader and uploader hold this object. Throws when the layouts differ (peersite.json and site.torrent
 * of different publishes).
 */
export function upgradeMetainfo (lazy: Metainfo, real: Metainfo): void {
  const known = knownOf.get(lazy)
  if (known === undefined) return
  if (real.pieceLength !== lazy.pieceLength || real.length !== lazy.length) throw new Error('site.torrent does not fit peersite.json')
  lazy.pieceHashes.set(real.pieceHashes)
  known.fill(1)
  Object.assign(lazy as Mutable<Metainfo>, { files: real.files, name: real.name, multiFile: real.multiFile, info: real.info })
  knownOf.delete(lazy)
}
