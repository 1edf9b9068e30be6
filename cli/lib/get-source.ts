/**
 * What `peersite get` accepts: an infohash (40 hex digits, or 32 base32 characters as in old magnet links), a
 * magnet URI, or a .torrent file. magnet-uri reads infohashes and magnets; .torrent files go through the
 * engine's validating bencode decoder first (a decoder that trusted its input could loop forever on a hostile
 * length prefix) and parseInfoDictionary, which gives the exact Metainfo the downloader needs.
 */
import { stat } from 'node:fs/promises'
import { sep } from 'node:path'
import { decode as decodeMagnet } from 'magnet-uri'
import { ArgumentError, UsageError } from '../../engine/errors.js'
import type { Metainfo } from '../../engine/metainfo/index.js'
import { readTorrentFile } from './torrent.js'

export interface GetSource {
  readonly infoHash: string
  /** Known up front for a .torrent file; fetched from peers (BEP 9) otherwise. */
  readonly metainfo?: Metainfo
  /** Trackers named by the magnet (`tr`) or the torrent (announce-list). */
  readonly trackers: string[]
  readonly name?: string
  /** BEP 19 web seeds: the torrent's `url-list`, the magnet's `ws` (used once the metainfo is known). */
  readonly webSeeds?: string[]
  readonly kind: 'infohash' | 'magnet' | 'torrent'
}

const HEX_HASH = /^[0-9a-f]{40}$/i
const BASE32_HASH = /^[a-z2-7]{32}$/i

export async function parseGetSource (source: string): Promise<GetSource> {
  const text = source.trim()
  if (HEX_HASH.test(text) || BASE32_HASH.test(text)) {
    // As parse-torrent does: a bare infohash is the magnet that names only it (magnet-uri converts base32).
    const parsed = decodeMagnet(`magnet:?xt=urn:btih:${text}`)
    return { infoHash: checkedHash(parsed.infoHash, text), trackers: [], kind: 'infohash' }
  }
  if (/^magnet:/i.test(text)) return await parseMagnet(text)
  const file = await fileKind(text)
  if (file === 'file') {
    const { metainfo, trackers, webSeeds } = await readTorrentFile(text)
    return { infoHash: metainfo.infoHash, metainfo, trackers, name: metainfo.name, webSeeds, kind: 'torrent' }
  }
  const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text
  // `site.torrent` or `dir/x` is meant as a file: say what is wrong with it, not that it is no infohash.
  if (looksLikePath(text)) {
    if (file === 'missing') throw new UsageError(`no such file: ${shown}`)
    if (file === 'folder') throw new UsageError(`not a .torrent file: ${shown} is a folder`)
  }
  if (/^[0-9a-z]+$/i.test(text) && text.length >= 20 && text.length <= 64) {
    throw new ArgumentError(`not an infohash, magnet URI or .torrent file: ${shown} (an infohash is 40 hex digits or 32 base32 characters)`)
  }
  throw new ArgumentError(`not an infohash, magnet URI or .torrent file: ${shown}`)
}

async function parseMagnet (uri: string): Promise<GetSource> {
  const shown = uri.length > 80 ? `${uri.slice(0, 77)}...` : uri
  // magnet-uri accepts any 40 (or 32) characters after urn:btih:, so check the exact topic ourselves.
  const query = uri.slice(uri.indexOf('?') + 1)
  const topics = uri.includes('?') ? new URLSearchParams(query).getAll('xt') : []
  const btih = topics.filter((xt) => /^urn:btih:/i.test(xt))
  if (btih.length === 0) throw new ArgumentError(`invalid magnet URI (no xt=urn:btih: infohash): ${shown}`)
  const hash = btih[0]!.slice('urn:btih:'.length)
  if (!HEX_HASH.test(hash) && !BASE32_HASH.test(hash)) {
    throw new ArgumentError(`invalid magnet URI (the infohash "${hash}" is not 40 hex digits or 32 base32 characters): ${shown}`)
  }
  let parsed
  try {
    parsed = decodeMagnet(uri)
  } catch (err) {
    throw new ArgumentError(`invalid magnet URI (${(err as Error).message}): ${shown}`)
  }
  const tr = parsed.tr === undefined ? [] : Array.isArray(parsed.tr) ? parsed.tr : [parsed.tr]
  return {
    infoHash: checkedHash(parsed.infoHash, shown),
    trackers: [...new Set([...tr, ...(parsed.announce ?? [])])],
    ...(parsed.urlList !== undefined && parsed.urlList.length > 0 ? { webSeeds: parsed.urlList } : {}),
    ...(parsed.name !== undefined ? { name: parsed.name } : typeof parsed.dn === 'string' ? { name: parsed.dn } : {}),
    kind: 'magnet'
  }
}

function checkedHash (hash: string | undefined, shown: string): string {
  if (hash === undefined || !/^[0-9a-f]{40}$/.test(hash)) throw new ArgumentError(`not a valid infohash: ${shown}`)
  return hash
}

/** A word that names a file: it ends in .torrent or holds a path separator, and is not a URL (`https://…`). */
function looksLikePath (text: string): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return false
  return /\.torrent$/i.test(text) || text.includes('/') || text.includes(sep)
}

/** What is at `path`: a file, a folder, nothing (or nothing this process can see), or something else. */
async function fileKind (path: string): Promise<'file' | 'folder' | 'missing' | 'other'> {
  try {
    const info = await stat(path)
    return info.isFile() ? 'file' : info.isDirectory() ? 'folder' : 'other'
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'other'
  }
}
