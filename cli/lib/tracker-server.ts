/**
 * A BitTorrent tracker (bittorrent-tracker's server) in this process. Used by `peersite tracker`, by
 * `publish --local`, and by the tests. One port number serves all three protocols: WebSocket announces (browsers,
 * WebRTC) and HTTP `/announce` + `/scrape` on the TCP port, UDP announces (BEP 15) on the UDP port of the same
 * number. bittorrent-tracker keeps WebRTC and TCP peers of one torrent apart (a WebSocket announce is answered
 * with WebSocket peers, an HTTP or UDP one with addresses); a hybrid peersite peer announces to both and bridges.
 *
 * bittorrent-tracker is a devDependency: the build inlines its server into dist/ (scripts/bundle-tracker.mjs), so
 * that users do not install its client's dependencies. Import the server's own module, never the package entry.
 */
import { isIP } from 'node:net'
import Server from 'bittorrent-tracker/server'
import { UsageError } from '../../engine/errors.js'
import { describeSystemError } from './system-errors.js'

export interface TrackerServer {
  /** ws://HOST:PORT, what WebRTC peers (browsers) announce to. */
  readonly url: string
  /** http://HOST:PORT/announce, for ordinary BitTorrent clients (TCP peers). */
  readonly httpUrl: string
  /** udp://HOST:PORT (BEP 15); undefined with `udp: false`. */
  readonly udpUrl: string | undefined
  readonly port: number
  readonly host: string
  close (): Promise<void>
}

export interface TrackerServerInit {
  /** Default 127.0.0.1: nothing outside the machine can reach it unless asked. */
  host?: string
  /** Default 0: a free port. */
  port?: number
  /** How often peers re-announce, ms. Short in tests so late joiners are found quickly. */
  intervalMs?: number
  /** Also answer UDP announces on the same port number (default true). */
  udp?: boolean
  /** Swarms one WebSocket may join (default MAX_SWARMS_PER_SOCKET); lower in tests. */
  maxSwarmsPerSocket?: number
}

/**
 * The largest WebSocket message the tracker reads (ws's default is 100 MiB). The largest honest one is an announce
 * with its offers: peersite sends up to 10, each an SDP of 0.5-4 KB, but 5-7 KB and more with many ICE candidates
 * (Docker bridges, IPv6, TURN), and JSON escapes every \r\n; 256 KiB leaves room for 10 offers of 16 KiB. A
 * longer message closes its socket (code 1009).
 */
export const MAX_MESSAGE_BYTES = 256 * 1024
/** Swarms one WebSocket may join: a browser tab joins a handful, a WebTorrent client one per torrent it shares. */
export const MAX_SWARMS_PER_SOCKET = 256

/** What bittorrent-tracker keeps on each WebSocket (onWebSocketConnection): the swarms it joined, as hex. */
interface TrackerSocket {
  infoHashes: string[] | null
  send: (data: string, cb?: (err?: Error) => void) => void
  onSend?: (err?: Error) => void
}

/** What bittorrent-tracker's _onAnnounce receives from a WebSocket (parse-websocket.js): info_hash as hex. */
interface AnnounceParams {
  type?: string
  event?: string
  info_hash: string
  socket?: TrackerSocket
}

/**
 * Why a WebSocket message must not reach bittorrent-tracker, or undefined if it may. The server trusts more than it
 * checks: it sends `offers[i].offer` to peers from a later tick with no try (an `offers` entry that is not an
 * object threw out of the process), maps a scrape's `info_hash` whatever it is, and answers a scrape without one
 * with every swarm it knows. Checked here: the shapes that peersite's and bittorrent-tracker's clients send.
 */
export function refusedMessage (msg: unknown, joined: ReadonlySet<string>, maxSwarms = MAX_SWARMS_PER_SOCKET): string | undefined {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return 'a message must be a JSON object'
  const m = msg as Record<string, unknown>
  if (m.action === 'scrape') {
    const hashes = Array.isArray(m.info_hash) ? m.info_hash : [m.info_hash]
    if (m.info_hash === undefined || hashes.length === 0) return 'a scrape must name its info_hash'
    return hashes.every(isBinaryId) ? undefined : 'invalid info_hash'
  }
  if (m.action !== 'announce') return 'invalid action'
  if (!isBinaryId(m.info_hash)) return 'invalid info_hash'
  if (!isBinaryId(m.peer_id)) return 'invalid peer_id'
  if (m.offers !== undefined) {
    if (!Array.isArray(m.offers)) return 'offers must be an array'
    if (!m.offers.every((o) => isObject(o) && isDescription(o.offer) && typeof o.offer_id === 'string')) {
      return 'each offer must be { offer: { type, sdp }, offer_id }'
    }
  }
  if (m.answer !== undefined) {
    if (!isDescription(m.answer) || typeof m.offer_id !== 'string' || !isBinaryId(m.to_peer_id)) {
      return 'an answer must be { answer: { type, sdp }, offer_id, to_peer_id }'
    }
  }
  if (joined.size >= maxSwarms && !joined.has(m.info_hash)) {
    return `one connection may join at most ${maxSwarms} swarms`
  }
  return undefined
}

/**
 * The answer to a refused message, shaped as bittorrent-tracker's server answers a failed announce or scrape:
 * `{ action, 'failure reason', info_hash }`. Its client reads an announce failure as a warning for the torrent of
 * that info_hash only; a message without `action` it takes for a broken socket, and every torrent sharing that
 * socket would drop it, reconnect and announce again (websocket-tracker.js _onSocketData).
 */
export function refusal (msg: unknown, reason: string): Record<string, unknown> {
  const m = isObject(msg) ? msg : {}
  const out: Record<string, unknown> = {}
  if (m.action === 'announce' || m.action === 'scrape') out.action = m.action
  out['failure reason'] = reason
  if (typeof m.info_hash === 'string') out.info_hash = m.info_hash
  return out
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isDescription (v: unknown): boolean {
  return isObject(v) && typeof v.sdp === 'string' && (v.type === undefined || typeof v.type === 'string')
}

/** An info_hash or peer_id as the WebSocket protocol carries it: 20 characters, one per byte. */
function isBinaryId (v: unknown): v is string {
  return typeof v === 'string' && v.length === 20
}

/**
 * bittorrent-tracker's server with every WebSocket message checked before it sees it (refusedMessage), no full
 * scrape (a scrape without info_hash lists every swarm on the tracker), and its later-tick steps guarded: whatever
 * one announce throws there is a warning, never the end of the process.
 */
class GuardedServer extends Server {
  readonly #maxSwarms: number
  /**
   * The swarms (binary info_hash) each WebSocket has joined, counted here when a message is accepted. Not the
   * server's socket.infoHashes: it fills that only once the swarm is found or made, ticks later, and ws delivers
   * every frame of one TCP read in one tick, so a burst of announces would all pass a check against it.
   */
  readonly #joined = new WeakMap<object, Set<string>>()

  constructor (opts: Record<string, unknown> & { maxSwarmsPerSocket?: number }) {
    const { maxSwarmsPerSocket, ...rest } = opts
    super(rest)
    this.#maxSwarms = maxSwarmsPerSocket ?? MAX_SWARMS_PER_SOCKET
  }

  override _onWebSocketRequest (socket: unknown, opts: unknown, params: unknown): void {
    const s = socket as TrackerSocket
    let joined = this.#joined.get(s)
    if (joined === undefined) this.#joined.set(s, joined = new Set())
    let msg: unknown
    let reason: string | undefined
    try {
      msg = JSON.parse(String(params))
      reason = refusedMessage(msg, joined, this.#maxSwarms)
    } catch {
      reason = 'a message must be JSON'
    }
    if (reason === undefined) {
      try {
        super._onWebSocketRequest(socket, opts, params)
        const m = msg as { action: string, info_hash: string, event?: unknown }
        if (m.action === 'announce') {
          // A stopped announce leaves its swarm (the server's swarm.js does so on a later tick).
          if (m.event === 'stopped') joined.delete(m.info_hash)
          else joined.add(m.info_hash)
        }
        return
      } catch (err) {
        reason = (err as Error).message
      }
    }
    s.send(JSON.stringify(refusal(msg, reason)), s.onSend)
    this.emit('warning', new Error(`WebSocket message refused: ${reason}`))
  }

  override _onAnnounce (params: AnnounceParams, cb: (err: Error | null, response?: unknown) => void): void {
    super._onAnnounce(params, (err, response) => {
      try {
        cb(err, response)
      } finally {
        // The server's answer to a WebSocket announce puts its info_hash back on socket.infoHashes even when the
        // announce was `stopped` (swarm.js took it off just before): take it off again, or that list only grows.
        const list = params.type === 'ws' && params.event === 'stopped' ? params.socket?.infoHashes : null
        const i = list?.indexOf(params.info_hash) ?? -1
        if (list != null && i !== -1) list.splice(i, 1)
      }
    })
  }

  override getSwarm (infoHash: string, cb: (err: Error | null, swarm: unknown) => void): void {
    super.getSwarm(infoHash, this.#guarded(cb))
  }

  override createSwarm (infoHash: string, cb: (err: Error | null, swarm: unknown) => void): void {
    super.createSwarm(infoHash, this.#guarded(cb))
  }

  override _onScrape (params: { info_hash?: unknown }, cb: (err: Error | null, response?: unknown) => void): void {
    // Refused on a later tick, as the server answers: its WebSocket path sends the failure with the info_hash.
    if (params.info_hash == null) process.nextTick(() => cb(new Error('a scrape must name its info_hash')))
    else super._onScrape(params, cb)
  }

  #guarded (cb: (err: Error | null, swarm: unknown) => void): (err: Error | null, swarm: unknown) => void {
    return (err, swarm) => {
      try {
        cb(err, swarm)
      } catch (e) {
        this.emit('warning', e)
      }
    }
  }
}

export async function startTrackerServer (init: TrackerServerInit = {}): Promise<TrackerServer> {
  const host = init.host ?? '127.0.0.1'
  const udp = init.udp !== false
  const server = new GuardedServer({
    udp,
    http: true,
    ws: { maxPayload: MAX_MESSAGE_BYTES },
    stats: false,
    interval: init.intervalMs ?? 30_000,
    maxSwarmsPerSocket: init.maxSwarmsPerSocket
  })
  // The tracker reports bad announces from clients as warnings; they are the clients' problem, not ours.
  server.on('warning', () => {})
  // Its 'error' events after start-up (a UDP send to a vanished client) are the clients' problem too.
  server.on('error', () => {})
  const refused = (err: unknown, what: string): unknown => {
    server.close()
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') return new UsageError(`${what} port ${init.port ?? 0} on ${host} is already in use`)
    return describeSystemError(err, `listen on ${host}`)
  }
  // Not server.listen(): with port 0 it would give the HTTP and the UDP side two different free ports, and it binds
  // the IPv6 UDP socket to every address whatever `host` says. The TCP side first, then UDP on its port number, only
  // for the address family of `host`.
  try {
    await listenOnce(server.http, (cb) => server.http.listen(init.port ?? 0, host, cb))
  } catch (err) {
    throw refused(err, 'TCP')
  }
  const address = server.http.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  if (udp) {
    const v6 = isIP(host) === 6
    const [use, unused] = v6 ? [server.udp6, server.udp4] : [server.udp4, server.udp6]
    try { unused?.close() } catch {}
    if (v6) server.udp4 = server.udp = null
    else server.udp6 = null
    try {
      await listenOnce(use!, (cb) => use!.bind(port, host, cb))
    } catch (err) {
      throw refused(err, 'UDP')
    }
  }
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `ws://${urlHost}:${port}`,
    httpUrl: `http://${urlHost}:${port}/announce`,
    udpUrl: udp ? `udp://${urlHost}:${port}` : undefined,
    port,
    host,
    close: async () => await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/** Runs `start` and resolves on its callback, rejects on the first 'error' before it. */
async function listenOnce (emitter: NodeJS.EventEmitter, start: (cb: () => void) => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err)
    emitter.once('error', onError)
    start(() => {
      emitter.off('error', onError)
      resolve()
    })
  })
}
