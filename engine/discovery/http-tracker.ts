/**
 * A lean HTTP/UDP tracker client for Node peers (the WebSocket tracker protocol is websocket-tracker.ts): one
 * announce, its answer as addresses to dial over TCP. HTTP here (BEP 3, compact answers BEP 23, IPv6 BEP 7),
 * UDP in udp-tracker.ts (BEP 15); `announceTo` picks by URL scheme.
 *
 * Hostile answers: the body is read with a size cap, decoded by the engine's validating bencode decoder, and a
 * malformed answer is a TrackerError (a warning for the torrent, never a crash).
 */
import { TRACKER_DEFAULT_INTERVAL_MS, TRACKER_MAX_PEERS, TRACKER_MIN_INTERVAL_MS, TRACKER_REQUEST_TIMEOUT_MS } from '../constants.js'
import { TrackerError } from '../errors.js'
import { BencodeError, bdecode, isBytes, isDict, isInt, type BValue } from '../util/bencode.js'
import { utf8 } from '../util/bytes.js'
import { normalizeIp, parseIp, peerIp } from '../util/ip.js'
import { readBodyAtMost } from '../util/read-body.js'
import { announceUdp } from './udp-tracker.js'

export interface PeerAddress {
  ip: string
  port: number
}

export interface AnnounceRequest {
  infoHash: Uint8Array
  peerId: Uint8Array
  /** Our TCP listening port. */
  port: number
  uploaded: number
  downloaded: number
  left: number
  event?: 'started' | 'completed' | 'stopped' | undefined
  numwant: number
  /** A random number the tracker uses to recognise us across address changes (BEP 3 `key`, BEP 15). */
  key: number
  signal?: AbortSignal
}

export interface AnnounceResult {
  /** When to announce again (the tracker's `interval`, never below TRACKER_MIN_INTERVAL_MS). */
  intervalMs: number
  peers: PeerAddress[]
}

/** The largest tracker answer read: 50 peers are 300 bytes compact, a few KB as dictionaries. */
const MAX_HTTP_ANSWER_BYTES = 256 * 1024

/** Announces to an http(s):// or udp:// tracker. */
export async function announceTo (url: string, req: AnnounceRequest): Promise<AnnounceResult> {
  if (/^udp:\/\//i.test(url)) return await announceUdp(url, req)
  if (/^https?:\/\//i.test(url)) return await announceHttp(url, req)
  throw new TrackerError(`tracker ${url}: not an http(s):// or udp:// URL`)
}

/** BEP 3: binary values in the query are URL-encoded byte by byte. */
export function percentEncodeBytes (bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) {
    const c = String.fromCharCode(b)
    out += /[A-Za-z0-9.\-_~]/.test(c) ? c : `%${b.toString(16).padStart(2, '0')}`
  }
  return out
}

export async function announceHttp (url: string, req: AnnounceRequest): Promise<AnnounceResult> {
  const params = [
    `info_hash=${percentEncodeBytes(req.infoHash)}`,
    `peer_id=${percentEncodeBytes(req.peerId)}`,
    `port=${req.port}`,
    `uploaded=${req.uploaded}`,
    `downloaded=${req.downloaded}`,
    `left=${req.left}`,
    'compact=1',
    `numwant=${req.numwant}`,
    `key=${(req.key >>> 0).toString(16)}`,
    ...(req.event !== undefined ? [`event=${req.event}`] : [])
  ]
  const full = `${url}${url.includes('?') ? '&' : '?'}${params.join('&')}`
  const timeout = AbortSignal.timeout(TRACKER_REQUEST_TIMEOUT_MS)
  const signal = req.signal !== undefined ? AbortSignal.any([req.signal, timeout]) : timeout
  let body: Uint8Array
  try {
    const res = await fetch(full, { signal, redirect: 'follow' })
    if (!res.ok) throw new TrackerError(`tracker ${url}: HTTP ${res.status}`)
    body = await readBodyAtMost(res, MAX_HTTP_ANSWER_BYTES, () => new TrackerError(`answer larger than ${MAX_HTTP_ANSWER_BYTES} bytes`))
  } catch (err) {
    if (err instanceof TrackerError) throw err
    throw new TrackerError(`tracker ${url}: ${timeout.aborted ? 'no answer in time' : (err as Error).message}`, { cause: err })
  }
  return parseHttpAnswer(url, body)
}

/** Reads a tracker's bencoded answer: `failure reason`, `interval`, `peers` (compact or a list), `peers6`. */
export function parseHttpAnswer (url: string, body: Uint8Array): AnnounceResult {
  let value: BValue
  try {
    value = bdecode(body)
  } catch (err) {
    if (err instanceof BencodeError) throw new TrackerError(`tracker ${url}: answer is not bencoded (${err.message})`)
    throw err
  }
  if (!isDict(value)) throw new TrackerError(`tracker ${url}: answer is not a dictionary`)
  const failure = value['failure reason']
  if (isBytes(failure)) throw new TrackerError(`tracker ${url}: ${utf8.decode(failure).slice(0, 200)}`)
  const interval = value.interval
  const peers: PeerAddress[] = []
  const list = value.peers
  if (isBytes(list)) peers.push(...decodeCompactPeers(list, 4))
  else if (Array.isArray(list)) {
    for (const entry of list) {
      if (peers.length >= TRACKER_MAX_PEERS) break
      if (!isDict(entry)) continue
      const ip = isBytes(entry.ip) ? utf8.decode(entry.ip) : ''
      const port = entry.port
      // BEP 3 allows a DNS name here: IP literals only, or one answer makes us look up and dial any host it names.
      if (parseIp(ip) !== undefined && isInt(port) && port > 0 && port < 65536) peers.push({ ip: normalizeIp(ip), port })
    }
  }
  const six = value.peers6
  if (isBytes(six)) peers.push(...decodeCompactPeers(six, 16))
  return { intervalMs: intervalMs(isInt(interval) ? interval : undefined), peers: peers.slice(0, TRACKER_MAX_PEERS) }
}

/** The tracker's interval (seconds) as ms, within bounds. */
export function intervalMs (seconds: number | undefined): number {
  if (seconds === undefined || seconds <= 0) return TRACKER_DEFAULT_INTERVAL_MS
  return Math.max(TRACKER_MIN_INTERVAL_MS, Math.min(seconds * 1000, 2 * TRACKER_DEFAULT_INTERVAL_MS))
}

/**
 * BEP 23 / BEP 7 compact peers: 4 (or 16) address bytes then 2 port bytes, big-endian. A ragged tail is ignored. An
 * IPv4-mapped address in `peers6` is given as its IPv4 address (normalizeIp: one peer, one contact).
 */
export function decodeCompactPeers (bytes: Uint8Array, size: 4 | 16): PeerAddress[] {
  const step = size + 2
  const out: PeerAddress[] = []
  for (let off = 0; off + step <= bytes.length && out.length < TRACKER_MAX_PEERS; off += step) {
    const port = (bytes[off + size]! << 8) | bytes[off + size + 1]!
    if (port === 0) continue
    out.push({ ip: peerIp(bytes.subarray(off, off + size)), port })
  }
  return out
}
