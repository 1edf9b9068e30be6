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
import type { IncomingMessage } from 'node:http'
import Server from 'bittorrent-tracker/server'
import { UsageError } from '../../engine/errors.js'
import { formatIp, ipv4Mapped, parseIp } from '../../engine/util/ip.js'
import { describeSystemError } from './system-errors.js'

export interface TrackerServer {
  /** ws://HOST:PORT, what WebRTC peers (browsers) announce to. */
  readonly url: string
  /** http://HOST:PORT/announce, for ordinary BitTorrent clients (TCP peers); undefined with `http: false`. */
  readonly httpUrl: string | undefined
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
  /**
   * Also answer HTTP announces and scrapes (default true). Without them the TCP port serves WebSocket upgrades only
   * (anything else gets 404): a tracker for browsers alone, whose swarm table only WebSockets can fill (MAX_SWARMS).
   */
  http?: boolean
  /** Swarms one WebSocket may join (default MAX_SWARMS_PER_SOCKET); lower in tests. */
  maxSwarmsPerSocket?: number
  /** Swarms the tracker holds, all protocols together (default MAX_SWARMS); lower in tests. */
  maxSwarms?: number
  /** Least time between two sweeps for empty swarms at MAX_SWARMS, ms (default SWEEP_INTERVAL_MS); 0 in tests. */
  sweepIntervalMs?: number
  /** Open WebSockets from one remote address (default MAX_CONNECTIONS_PER_ADDRESS; 0: no limit). */
  maxConnectionsPerAddress?: number
  /** Apply maxConnectionsPerAddress to loopback addresses too (default false: see MAX_CONNECTIONS_PER_ADDRESS). */
  limitLoopback?: boolean
  /** Told what an operator may want to know: a socket closed for its malformed messages, and from where. */
  onWarning?: (message: string) => void
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
/**
 * Swarms the tracker holds at once, WebSocket, HTTP and UDP together: the per-socket limit does not bound many
 * sockets (or HTTP and UDP announces, which need none). Past it an announce that would start a swarm is refused
 * with the server's own failure answer, while the swarms it holds are still served; the swarms left with no peer
 * (all stopped, closed or silent for the server's 20 minutes) are dropped then to make room (at most once per
 * SWEEP_INTERVAL_MS). bittorrent-tracker itself never drops a swarm. Each swarm keeps at most 1,000 peers (the
 * server's default peersCacheLength).
 *
 * The trade-off: anyone can fill the table from outside, HTTP and UDP announces being one request each with no
 * socket to hold (one client announcing 10,000 made-up info hashes every 20 minutes keeps it full), and new swarms,
 * honest ones too, are refused while it is. A tracker for browsers alone turns both off (`peersite tracker --no-http
 * --no-udp`): then only WebSockets make swarms, and they are limited per socket and per address.
 */
export const MAX_SWARMS = 10_000
/**
 * Least time between two sweeps for empty swarms at MAX_SWARMS: a sweep looks at every swarm, and a client sending
 * announces for new swarms at the limit would otherwise have it run for each (7.5 ms each at 10,000 swarms: 130 of
 * them a second take the whole thread). Until the next sweep a new swarm is refused.
 */
export const SWEEP_INTERVAL_MS = 1000
/**
 * Open WebSockets from one remote address: a browser opens one per tracker URL, a household behind one NAT a few
 * dozen. Past it a new connection is closed at once (1008) and its TCP connection dropped, not held until the
 * client answers. Loopback addresses are not limited: a tracker behind a reverse proxy on the same machine (the
 * usual way to give it TLS) sees every visitor as 127.0.0.1 or ::1, and a limit there would turn honest visitors
 * away (the proxy is the place to limit connections per visitor then); a tracker without a proxy, listening on
 * 127.0.0.1 (the default), is reachable from this machine only. A proxy on another machine (or container) shows
 * every visitor as its own address, as carrier-grade NAT shows many households as one:
 * `peersite tracker --max-connections-per-address` sets this (0: no limit). IPv6 addresses are counted by their /64
 * (addressGroup): one household or server is given a whole /64 and can connect from any of its 2^64 addresses.
 */
export const MAX_CONNECTIONS_PER_ADDRESS = 64
/**
 * Malformed WebSocket messages one socket may send before it is closed (1008). No honest client sends one; a few
 * are allowed for a client of another version that sends something we do not expect. Refusals for a limit (too
 * many swarms) do not count: an honest client with many torrents meets them on every re-announce.
 */
export const MAX_BAD_MESSAGES = 16
/**
 * How long a socket closed for its malformed messages has to answer the close frame before it is dropped. ws waits
 * 30 s for that answer, and a client that never gives it would hold its file descriptor (and its place in
 * MAX_CONNECTIONS_PER_ADDRESS) that long.
 */
export const CLOSE_GRACE_MS = 1000
/**
 * How often every WebSocket is pinged; one that has not answered the previous ping (pong) by the next is dropped. A
 * client that vanished without closing (a laptop put to sleep, a NAT that forgot the connection) would otherwise
 * keep its socket, its swarms and its place in MAX_CONNECTIONS_PER_ADDRESS for ever: TCP alone notices nothing
 * while the tracker has nothing to send it.
 */
export const HEARTBEAT_MS = 60_000
/**
 * At most one warning line per remote address in this time for its sockets closed for malformed messages: a client
 * reconnecting and sending junk in a loop would otherwise write a line per socket. The others are counted, and the
 * count given on that address's next line, or on a line of its own once the time is over (at the next heartbeat).
 */
export const WARNING_INTERVAL_MS = 60_000

/**
 * A ws WebSocket as bittorrent-tracker keeps it (onWebSocketConnection): the swarms it joined, as hex, and the
 * upgrade request (its remote address).
 */
interface TrackerSocket {
  infoHashes: string[] | null
  upgradeReq?: IncomingMessage
  send: (data: string, cb?: (err?: Error) => void) => void
  onSend?: (err?: Error) => void
  close: (code: number, reason: string) => void
  /** Drops the TCP connection at once, without waiting for the client's close frame. */
  terminate: () => void
  ping: () => void
  on: (event: 'close' | 'error' | 'pong', listener: () => void) => void
}

/** What the server's Swarm keeps of its peers (lib/server/swarm.js: an LRU of peers that expire unannounced). */
interface Swarm {
  peers: { length: number, tail: string | null, peek: (key: string) => unknown }
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
export function refusedMessage (msg: unknown): string | undefined {
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

/** A new swarm refused because the tracker holds MAX_SWARMS. */
class SwarmLimitError extends Error {}

/**
 * bittorrent-tracker's server with every WebSocket message checked before it sees it (refusedMessage), no full
 * scrape (a scrape without info_hash lists every swarm on the tracker), and its later-tick steps guarded: whatever
 * one announce throws there is a warning, never the end of the process. Limited: swarms per socket, swarms in all,
 * WebSockets per remote address, malformed messages per socket.
 */
class GuardedServer extends Server {
  readonly #maxSwarmsPerSocket: number
  readonly #maxSwarms: number
  readonly #sweepIntervalMs: number
  readonly #maxConnections: number
  readonly #limitLoopback: boolean
  readonly #onWarning: (message: string) => void
  /**
   * The swarms (binary info_hash) each WebSocket has joined, counted here when a message is accepted. Not the
   * server's socket.infoHashes: it fills that only once the swarm is found or made, ticks later, and ws delivers
   * every frame of one TCP read in one tick, so a burst of announces would all pass a check against it.
   */
  readonly #joined = new WeakMap<object, Set<string>>()
  /** How many malformed messages each WebSocket has sent (MAX_BAD_MESSAGES). */
  readonly #bad = new WeakMap<object, number>()
  /** Open WebSockets per limited remote address (MAX_CONNECTIONS_PER_ADDRESS). */
  readonly #connections = new Map<string, number>()
  /** Each WebSocket's remote address, read as it opens (Node lets go of the upgrade request's socket later). */
  readonly #addresses = new WeakMap<object, string>()
  /** Per remote address: when its last warning line was written, and how many closes it did not report since. */
  readonly #warned = new Map<string, { at: number, more: number }>()
  /** The WebSockets served (not those refused as they open), for the heartbeat and close(). */
  readonly #open = new Set<TrackerSocket>()
  /** The ones pinged that have not answered yet (HEARTBEAT_MS). */
  readonly #unanswered = new WeakSet<TrackerSocket>()
  readonly #heartbeat = setInterval(() => this.#ping(), HEARTBEAT_MS).unref()
  /** How many swarms this.torrents holds: Object.keys() on each new swarm made filling the table O(N²). */
  #swarms = 0
  /** When empty swarms were last swept (performance.now()), SWEEP_INTERVAL_MS. */
  #sweptAt = -Infinity

  constructor (opts: Record<string, unknown>, limits: TrackerServerInit) {
    super(opts)
    this.#maxSwarmsPerSocket = limits.maxSwarmsPerSocket ?? MAX_SWARMS_PER_SOCKET
    this.#maxSwarms = limits.maxSwarms ?? MAX_SWARMS
    this.#sweepIntervalMs = limits.sweepIntervalMs ?? SWEEP_INTERVAL_MS
    this.#maxConnections = limits.maxConnectionsPerAddress ?? MAX_CONNECTIONS_PER_ADDRESS
    this.#limitLoopback = limits.limitLoopback ?? false
    this.#onWarning = limits.onWarning ?? (() => {})
  }

  override onWebSocketConnection (socket: unknown, opts?: unknown): void {
    const s = socket as TrackerSocket
    const remote = s.upgradeReq?.socket.remoteAddress
    if (remote !== undefined) this.#addresses.set(s, remote)
    if (remote !== undefined && this.#maxConnections > 0 && (this.#limitLoopback || !isLoopback(remote))) {
      const address = addressGroup(remote)
      const open = this.#connections.get(address) ?? 0
      if (open >= this.#maxConnections) {
        // Closed before the server sets it up: nothing of it to clean. The close frame is sent, its answer not
        // waited for (ws would wait up to 30 s, the socket's file descriptor held all that time).
        s.on('error', () => {})
        s.close(1008, 'too many connections from this address')
        s.terminate()
        return
      }
      this.#connections.set(address, open + 1)
      s.on('close', () => {
        const left = (this.#connections.get(address) ?? 1) - 1
        if (left === 0) this.#connections.delete(address)
        else this.#connections.set(address, left)
      })
    }
    this.#open.add(s)
    s.on('close', () => this.#open.delete(s))
    s.on('pong', () => this.#unanswered.delete(s))
    super.onWebSocketConnection(socket, opts)
  }

  /** The heartbeat: drops the sockets that did not answer the last ping, pings the others. */
  #ping (): void {
    this.#flushWarnings(performance.now())
    for (const s of this.#open) {
      try {
        if (this.#unanswered.has(s)) {
          s.terminate()
        } else {
          this.#unanswered.add(s)
          s.ping()
        }
      } catch (err) {
        this.emit('warning', err)
      }
    }
  }

  override close (cb?: () => void): void {
    clearInterval(this.#heartbeat)
    this.#flushWarnings(Infinity)
    // The server's close does not close its WebSockets (ws keeps no list of them here), and the HTTP server's waits
    // for every connection to end: `peersite tracker` would not stop while a browser stays connected.
    for (const s of this.#open) s.terminate()
    super.close(cb)
  }

  override _onWebSocketRequest (socket: unknown, opts: unknown, params: unknown): void {
    const s = socket as TrackerSocket
    // Closing for its malformed messages: what it still sends is not read.
    if ((this.#bad.get(s) ?? 0) >= MAX_BAD_MESSAGES) return
    let joined = this.#joined.get(s)
    if (joined === undefined) this.#joined.set(s, joined = new Set())
    let msg: unknown
    let reason: string | undefined
    try {
      msg = JSON.parse(String(params))
      reason = refusedMessage(msg)
    } catch {
      reason = 'a message must be JSON'
    }
    if (reason === undefined) {
      const m = msg as { action: string, info_hash: string, event?: unknown }
      if (m.action === 'announce' && joined.size >= this.#maxSwarmsPerSocket && !joined.has(m.info_hash)) {
        // A limit, not a malformed message: not counted against the socket.
        this.#refuse(s, msg, `one connection may join at most ${this.#maxSwarmsPerSocket} swarms`)
        return
      }
      try {
        super._onWebSocketRequest(socket, opts, params)
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
    this.#refuse(s, msg, reason)
    const bad = (this.#bad.get(s) ?? 0) + 1
    this.#bad.set(s, bad)
    if (bad === MAX_BAD_MESSAGES) {
      const remote = this.#addresses.get(s)
      this.#warnClosed(remote === undefined ? 'an unknown address' : addressGroup(remote))
      s.close(1008, 'too many malformed messages')
      const timer = setTimeout(() => s.terminate(), CLOSE_GRACE_MS).unref()
      s.on('close', () => clearTimeout(timer))
    }
  }

  /**
   * A socket from `address` (its addressGroup: an IPv6 /64 as one) closed for its malformed messages: one line per
   * address per WARNING_INTERVAL_MS.
   */
  #warnClosed (address: string): void {
    const now = performance.now()
    const last = this.#warned.get(address)
    if (last !== undefined && now - last.at < WARNING_INTERVAL_MS) {
      last.more++
      return
    }
    const more = last !== undefined && last.more > 0 ? ` (and ${last.more} more in the minute after the last warning about it)` : ''
    this.#warned.set(address, { at: now, more: 0 })
    this.#onWarning(`closed a tracker WebSocket from ${address} after ${MAX_BAD_MESSAGES} malformed messages${more}`)
  }

  /**
   * Forgets the addresses last warned about WARNING_INTERVAL_MS or more before `now` (all of them at Infinity), with
   * a line for the closes not reported yet.
   */
  #flushWarnings (now: number): void {
    for (const [address, last] of this.#warned) {
      if (now - last.at < WARNING_INTERVAL_MS) continue
      this.#warned.delete(address)
      if (last.more > 0) this.#onWarning(`closed ${last.more} more tracker WebSockets from ${address} after ${MAX_BAD_MESSAGES} malformed messages in the minute after the last warning about it`)
    }
  }

  #refuse (s: TrackerSocket, msg: unknown, reason: string): void {
    s.send(JSON.stringify(refusal(msg, reason)), s.onSend)
    this.emit('warning', new Error(`WebSocket message refused: ${reason}`))
  }

  override _onAnnounce (params: AnnounceParams, cb: (err: Error | null, response?: unknown) => void): void {
    super._onAnnounce(params, (err, response) => {
      try {
        cb(err, response)
      } finally {
        // A swarm refused for MAX_SWARMS was never joined: it does not count against the socket's own limit.
        if (err instanceof SwarmLimitError && params.socket !== undefined) {
          this.#joined.get(params.socket)?.delete(Buffer.from(params.info_hash, 'hex').toString('latin1'))
        }
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

  /**
   * The server's createSwarm, with MAX_SWARMS checked on the tick the swarm is added (a burst of announces cannot
   * all pass a check made before), and a swarm another announce made meanwhile kept, not replaced by an empty one.
   */
  override createSwarm (infoHash: string, cb: (err: Error | null, swarm: unknown) => void): void {
    const guarded = this.#guarded(cb)
    process.nextTick(() => {
      let swarm: unknown
      try {
        swarm = this.#swarmFor(infoHash)
      } catch (err) {
        // On a later tick, out of every try of the server's: what the sweep (and the LRU 'evict' handlers it sets
        // off) or a new Swarm throws is a warning and a refused announce, not the end of the process.
        this.emit('warning', err)
        guarded(err instanceof Error ? err : new Error(String(err)), undefined)
        return
      }
      if (swarm === undefined) guarded(new SwarmLimitError(`this tracker holds at most ${this.#maxSwarms} swarms`), undefined)
      else guarded(null, swarm)
    })
  }

  /** The swarm of infoHash, made if need be; undefined if the tracker holds MAX_SWARMS. */
  #swarmFor (infoHash: string): unknown {
    const swarm = this.torrents[infoHash]
    if (swarm !== undefined) return swarm
    if (this.#swarms >= this.#maxSwarms && performance.now() - this.#sweptAt >= this.#sweepIntervalMs) {
      this.#sweptAt = performance.now()
      this.#dropEmptySwarms()
    }
    if (this.#swarms >= this.#maxSwarms) return undefined
    const made = this.torrents[infoHash] = new Server.Swarm(infoHash, this)
    this.#swarms++
    return made
  }

  /**
   * Drops the swarms with no peer left. A peer that left without `stopped` (HTTP and UDP peers do not say) stays
   * in its swarm's LRU until it is looked at after the server's peer TTL: each swarm's least recently announced
   * peers are looked at here (peek() drops one that is too old and counts it as stopped) until a live one. The only
   * place swarms are deleted (bittorrent-tracker never does): it keeps #swarms right.
   */
  #dropEmptySwarms (): void {
    for (const [infoHash, swarm] of Object.entries(this.torrents)) {
      const peers = (swarm as Swarm).peers
      let oldest = peers.tail
      while (oldest !== null && peers.peek(oldest) === undefined) oldest = peers.tail
      if (peers.length === 0) {
        delete this.torrents[infoHash]
        this.#swarms--
      }
    }
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

/**
 * What MAX_CONNECTIONS_PER_ADDRESS counts an address under: an IPv4 address itself (also when a dual-stack socket
 * reports it IPv4-mapped, ::ffff:a.b.c.d), an IPv6 address's /64 (its first four groups, written out in full:
 * 2001:db8::1 and 2001:0db8:0:0:ffff::2 are one). Not an IP address (never from a socket): itself.
 */
export function addressGroup (address: string): string {
  // Node names a link-local address with its zone (fe80::1%eth0): the zone is no part of the address's /64.
  const bytes = address.includes(':') ? parseIp(address.replace(/%.+$/, '')) : undefined
  if (bytes === undefined) return address
  const mapped = ipv4Mapped(bytes)
  if (mapped !== undefined) return formatIp(mapped)
  return `${formatIp(bytes).split(':').slice(0, 4).join(':')}::/64`
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (how a dual-stack socket reports an IPv4 client). */
function isLoopback (address: string): boolean {
  return address.startsWith('127.') || address.startsWith('::ffff:127.') || address === '::1'
}

export async function startTrackerServer (init: TrackerServerInit = {}): Promise<TrackerServer> {
  const host = init.host ?? '127.0.0.1'
  const udp = init.udp !== false
  const http = init.http !== false
  const server = new GuardedServer({
    udp,
    http,
    ws: { maxPayload: MAX_MESSAGE_BYTES },
    stats: false,
    interval: init.intervalMs ?? 30_000
  }, init)
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
    httpUrl: http ? `http://${urlHost}:${port}/announce` : undefined,
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
