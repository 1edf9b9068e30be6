/** Tracker URLs and ICE configuration: the two network settings every swarm command shares. */
import { ArgumentError } from '../../engine/errors.js'
import { allTrackersLocal } from '../../engine/transport/rtc-config.js'
import { warn } from './format.js'

/** The public WebTorrent WebSocket trackers (the ones WebTorrent itself and instant.io announce to). */
export const DEFAULT_TRACKERS: readonly string[] = [
  'wss://tracker.webtorrent.dev',
  'wss://tracker.openwebtorrent.com',
  'wss://tracker.btorrent.xyz'
]

/** Peers in browsers can only reach WebSocket trackers, so those are the only ones a site may list. */
export function isWebSocketTracker (url: string): boolean {
  try {
    const parsed = new URL(url)
    return (parsed.protocol === 'ws:' || parsed.protocol === 'wss:') && parsed.hostname !== ''
  } catch {
    return false
  }
}

/**
 * A site key's address as the commands print it: the `magnet:?xs=urn:btpk:` link with the WebSocket trackers the
 * command uses (`&tr=`), since the pointer swarm is reached over WebRTC only. Used as printed, `get`, `serve`, `seed`
 * and `mirror` then ask those trackers; the bare key sends them to the public ones, which a site published with
 * --local or its own tracker is not on.
 */
export function addressWithTrackers (address: string, trackers: readonly string[]): string {
  return address + trackers.filter(isWebSocketTracker).map((url) => `&tr=${encodeURIComponent(url)}`).join('')
}

/**
 * HTTP and UDP trackers (BEP 3, BEP 15) serve the BitTorrent network: Node peers announce to them and ordinary
 * clients find Node peers there (TCP). Browsers skip them.
 */
export function isNetworkTracker (url: string): boolean {
  try {
    const parsed = new URL(url)
    if (parsed.hostname === '') return false
    if (parsed.protocol === 'udp:') return parsed.port !== ''
    return parsed.protocol === 'http:' || parsed.protocol === 'https:'
  } catch {
    return false
  }
}

export function isTracker (url: string): boolean {
  return isWebSocketTracker(url) || isNetworkTracker(url)
}

/** Refuses the first URL `accepts` does not take (one line naming it and what was expected); repeats dropped. */
function checkTrackers (urls: readonly string[], accepts: (url: string) => boolean, expected: string): string[] {
  for (const url of urls) {
    if (!accepts(url)) throw new ArgumentError(`invalid tracker URL "${url}": must be ${expected}`)
  }
  return [...new Set(urls)]
}

export function validateTrackers (urls: readonly string[]): string[] {
  return checkTrackers(urls, isTracker, 'a ws://, wss://, http://, https:// or udp://HOST:PORT URL')
}

/** Trackers for a loader only browsers use (`gateway`, `loader`): WebSocket ones, the only kind a browser reaches. */
export function validateBrowserTrackers (urls: readonly string[]): string[] {
  return checkTrackers(urls, isWebSocketTracker, 'a ws:// or wss:// URL')
}

/**
 * `--ice-servers`: "none" (host candidates only: same machine or LAN, and tests), "default" (public STUN), or a
 * comma-separated list of stun:/turn: URLs. Returns undefined for the engine's default.
 */
export function parseIceServers (value: string | undefined): RTCConfiguration | undefined {
  if (value === undefined || value === 'default') return undefined
  if (value === 'none' || value === '') return { iceServers: [] }
  const urls = value.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const url of urls) {
    if (!/^(stun|stuns|turn|turns):[^\s]+$/.test(url)) {
      throw new ArgumentError(`invalid --ice-servers entry "${url}": expected "none", "default" or stun:/turn: URLs`)
    }
  }
  return { iceServers: [{ urls }] }
}

/** `--host`: an address to listen on, trimmed; an empty one would listen on every interface, so it is refused. */
export function parseHost (value: string): string {
  const host = value.trim()
  if (host === '') throw new ArgumentError('--host needs an address')
  return host
}

/** A TCP port number from the command line (0 = any free port). */
export function parsePort (value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = typeof value === 'number' ? value : Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ArgumentError(`invalid ${flag} "${String(value)}": expected a port number from 0 to 65535`)
  return n
}

/** The longest delay setTimeout and setInterval accept (a signed 32-bit count of milliseconds). */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * A number of seconds from the command line (`get --timeout`, `mirror --status-interval`), as milliseconds: positive,
 * and within Node's timers, whose longer delays fire at once (TimeoutOverflowWarning; a status line every
 * millisecond).
 */
export function parseSeconds (value: number, flag: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new ArgumentError(`invalid ${flag} "${String(value)}": expected a positive number of seconds`)
  if (value * 1000 > MAX_TIMER_MS) throw new ArgumentError(`invalid ${flag} "${String(value)}": at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (about 24 days)`)
  return value * 1000
}

/**
 * The default ICE configuration for a swarm: when every tracker is on this machine (a --local demo, a tracker
 * started with `peersite tracker`), every peer is too, so STUN can only slow connection set-up (a STUN host that
 * does not resolve stalls candidate gathering for seconds). Otherwise the engine's default (public STUN).
 */
export function defaultIceServers (trackers: readonly string[]): string | undefined {
  return allTrackersLocal(trackers) ? 'none' : undefined
}

/** The `--ice-servers` option of the commands that join an existing swarm (get, seed, serve). */
export const ICE_SERVERS_OPTION = {
  type: 'string',
  describe: 'ICE servers for WebRTC: "none", "default" (public STUN) or stun:/turn: URLs (default: none if every tracker is on 127.0.0.1)'
} as const

/** `--ice-servers` when given, else the default for these trackers (defaultIceServers). */
export function iceConfigFor (option: string | undefined, trackers: readonly string[]): RTCConfiguration | undefined {
  return parseIceServers(option ?? defaultIceServers(trackers))
}

/**
 * The trackers to announce to when joining a swarm from a magnet or torrent: the ones given on the command line
 * plus the source's own (WebSocket, HTTP, UDP), without repeats; `fallback` (the public WebSocket ones) when that
 * leaves none. A source's entry of another kind (a typo, or `dht://`, which some clients list in a trackerless
 * torrent) is left out with a warning naming it, and a fall back is said too: refusing would make such a torrent
 * unusable, and `--tracker` chooses others.
 */
export function joinTrackers (given: readonly string[], listed: readonly string[], onWarning: (message: string) => void = warn, fallback: readonly string[] = DEFAULT_TRACKERS): string[] {
  const left = [...new Set(listed.filter((url) => !isTracker(url)))]
  for (const url of left) onWarning(`tracker "${url}" of the source is not a ws://, wss://, http://, https:// or udp:// URL: left out`)
  const trackers = [...new Set([...given, ...listed.filter(isTracker)])]
  if (trackers.length > 0) return trackers
  if (left.length > 0) {
    const instead = fallback === DEFAULT_TRACKERS ? 'the public trackers' : fallback.join(' ')
    onWarning(fallback.length > 0 ? `no tracker of the source is usable: asking ${instead} instead (--tracker chooses others)` : 'no tracker of the source is usable, and none is given (--tracker)')
  }
  return [...fallback]
}
