/**
 * Discovery over the BitTorrent network for Node peers: addresses from HTTP and UDP trackers, the mainline DHT and
 * PEX are dialled over TCP (a bounded number at a time, failures backed off), and connections accepted on the
 * process's TCP port for this torrent come in too. Every connection is handed to the torrent like a WebRTC one:
 * the same engine, only the transport differs. Node-only; browsers never load it.
 */
import { networkInterfaces } from 'node:os'
import {
  DHT_ANNOUNCE_INTERVAL_MS, TCP_MAX_DIALS, TCP_MAX_KNOWN_ADDRESSES, TCP_REDIAL_BACKOFF_MS, TRACKER_MIN_INTERVAL_MS, TRACKER_NUMWANT
} from '../constants.js'
import { toHex } from '../util/bytes.js'
import { Emitter } from '../util/emitter.js'
import { dialTcp, type TcpConnection } from '../transport/tcp.js'
import { normalizeIp } from '../util/ip.js'
import type { TcpListener } from '../transport/tcp-listener.js'
import type { MainlineDht } from './dht.js'
import { announceTo, type PeerAddress } from './http-tracker.js'
import type { AnnounceStats, Discovery, DiscoveryEvents, DiscoveryInit } from './index.js'

export interface TcpDiscoveryInit extends DiscoveryInit {
  /** Accepts connections for this torrent; its port is the one announced. */
  listener?: TcpListener | undefined
  /** http(s):// and udp:// tracker URLs (others are ignored). */
  trackers?: readonly string[]
  dht?: MainlineDht | undefined
  /** Re-announce period override for HTTP/UDP trackers (ms); otherwise the tracker's interval. */
  announceIntervalMs?: number
  /** Addresses never dialled (tests, or a peer's own other listeners). */
  dialFilter?: (address: PeerAddress) => boolean
}

interface Known {
  address: PeerAddress
  state: 'idle' | 'dialling' | 'connected'
  failures: number
  nextAt: number
}

/** A connection that lasted less than this is counted as a failure when it closes (refused us, or both seeds). */
const SHORT_CONNECTION_MS = 60_000
/** Addresses that failed this many times in a row are forgotten. */
const MAX_FAILURES = 5

export class TcpDiscovery extends Emitter<DiscoveryEvents> implements Discovery {
  readonly #init: TcpDiscoveryInit
  readonly #infoHashHex: string
  readonly #known = new Map<string, Known>()
  readonly #abort = new AbortController()
  readonly #timers = new Set<ReturnType<typeof setTimeout>>()
  readonly #open = new Set<TcpConnection>()
  readonly #key = Math.floor(Math.random() * 0xffffffff)
  readonly #localIps: Set<string>
  #stats: AnnounceStats = { uploaded: 0, downloaded: 0, left: Number.MAX_SAFE_INTEGER }
  #dialling = 0
  #stopListening: (() => void) | undefined
  #stopDht: (() => void) | undefined
  #started = false
  #destroyed = false

  constructor (init: TcpDiscoveryInit) {
    super()
    this.#init = init
    this.#infoHashHex = toHex(init.infoHash)
    this.#localIps = localAddresses()
  }

  /** The TCP port we announce (0 when we accept no connections). */
  get port (): number {
    return this.#init.listener?.port ?? 0
  }

  get trackers (): string[] {
    return (this.#init.trackers ?? []).filter((url) => /^(https?|udp):\/\//i.test(url))
  }

  start (stats: AnnounceStats): void {
    if (this.#started || this.#destroyed) return
    this.#started = true
    this.#stats = stats
    if (this.#init.listener !== undefined) {
      this.#stopListening = this.#init.listener.register(this.#infoHashHex, (conn) => this.#accept(conn))
    }
    for (const url of new Set(this.trackers)) void this.#announceLoop(url, 'started')
    const dht = this.#init.dht
    if (dht !== undefined) {
      this.#stopDht = dht.onPeers(this.#infoHashHex, (peer) => this.addPeers([peer]))
      void this.#dhtLoop(dht)
    }
  }

  update (stats: AnnounceStats): void {
    this.#stats = stats
    this.#pump()
  }

  complete (stats: AnnounceStats): void {
    this.#stats = stats
    for (const url of new Set(this.trackers)) void this.#announceOnce(url, 'completed').catch(() => {})
  }

  /** Addresses learnt elsewhere (PEX): dialled like the trackers' and the DHT's. */
  addPeers (addresses: readonly PeerAddress[]): void {
    if (this.#destroyed) return
    for (const address of addresses) {
      const ip = normalizeIp(address.ip)
      if (!(address.port > 0 && address.port < 65536) || ip === '' || this.#isSelf(ip, address.port)) continue
      if (this.#init.dialFilter !== undefined && !this.#init.dialFilter({ ip, port: address.port })) continue
      const key = ip.includes(':') ? `[${ip}]:${address.port}` : `${ip}:${address.port}`
      if (this.#known.has(key)) continue
      if (this.#known.size >= TCP_MAX_KNOWN_ADDRESSES && !this.#evictOldestIdle()) continue
      this.#known.set(key, { address: { ip, port: address.port }, state: 'idle', failures: 0, nextAt: 0 })
    }
    this.#pump()
  }

  /**
   * Forgets the oldest idle address (the Map keeps insertion order); false when none is idle. No copy of the map:
   * the walk passes only the addresses dialling or connected (TCP_MAX_DIALS plus the torrent's peers) before an idle one.
   */
  #evictOldestIdle (): boolean {
    for (const [key, known] of this.#known) {
      if (known.state !== 'idle') continue
      this.#known.delete(key)
      return true
    }
    return false
  }

  /** Our own listener, reached through a tracker or the DHT that returned us to ourselves. */
  #isSelf (ip: string, port: number): boolean {
    return port === this.port && this.port !== 0 && (this.#localIps.has(ip) || ip.startsWith('127.') || ip === '0.0.0.0')
  }

  #accept (conn: TcpConnection): void {
    if (this.#destroyed) {
      conn.close()
      return
    }
    this.#track(conn)
    this.emit('connection', conn)
  }

  #track (conn: TcpConnection): void {
    this.#open.add(conn)
    conn.on('close', () => this.#open.delete(conn))
  }

  /** Dials idle addresses that are due, while the torrent takes peers and fewer than TCP_MAX_DIALS are in flight. */
  #pump (): void {
    if (this.#destroyed || !this.#started) return
    const now = Date.now()
    for (const [key, known] of this.#known) {
      if (this.#dialling >= TCP_MAX_DIALS) return
      if (known.state !== 'idle' || known.nextAt > now) continue
      // The torrent's own admission rule, asked with a placeholder id: is there room for one more peer?
      if (this.#init.wantsPeer !== undefined && !this.#init.wantsPeer(`tcp ${key}`)) return
      void this.#dial(key, known)
    }
  }

  async #dial (key: string, known: Known): Promise<void> {
    known.state = 'dialling'
    this.#dialling++
    let conn: TcpConnection
    try {
      conn = await dialTcp({ host: known.address.ip, port: known.address.port, signal: this.#abort.signal })
    } catch {
      this.#dialling--
      this.#failed(key, known)
      this.#pump()
      return
    }
    this.#dialling--
    if (this.#destroyed) {
      conn.close()
      return
    }
    known.state = 'connected'
    const since = Date.now()
    conn.on('close', () => {
      if (Date.now() - since < SHORT_CONNECTION_MS) this.#failed(key, known)
      else {
        known.state = 'idle'
        known.failures = 0
        known.nextAt = Date.now() + TCP_REDIAL_BACKOFF_MS
      }
      this.#pump()
    })
    this.#track(conn)
    this.emit('connection', conn)
    this.#pump()
  }

  #failed (key: string, known: Known): void {
    known.state = 'idle'
    known.failures++
    if (known.failures >= MAX_FAILURES) this.#known.delete(key)
    else known.nextAt = Date.now() + TCP_REDIAL_BACKOFF_MS * known.failures
  }

  async #announceOnce (url: string, event?: 'started' | 'completed' | 'stopped', signal?: AbortSignal): Promise<number> {
    const { uploaded, downloaded, left } = this.#stats
    const result = await announceTo(url, {
      infoHash: this.#init.infoHash,
      peerId: this.#init.peerId,
      port: this.port,
      uploaded,
      downloaded,
      left: Math.min(left, Number.MAX_SAFE_INTEGER),
      event,
      numwant: event === 'stopped' ? 0 : TRACKER_NUMWANT,
      key: this.#key,
      signal: signal ?? this.#abort.signal
    })
    if (this.#destroyed) return result.intervalMs
    if (event !== 'stopped') this.emit('announced')
    this.addPeers(result.peers)
    return result.intervalMs
  }

  async #announceLoop (url: string, event?: 'started'): Promise<void> {
    if (this.#destroyed) return
    let next: number
    try {
      next = await this.#announceOnce(url, event)
    } catch (err) {
      if (this.#destroyed) return
      this.emit('warning', err as Error)
      next = TRACKER_MIN_INTERVAL_MS
    }
    this.#later(() => { void this.#announceLoop(url) }, this.#init.announceIntervalMs ?? next)
  }

  async #dhtLoop (dht: MainlineDht): Promise<void> {
    if (this.#destroyed) return
    try {
      // Without a listening port we cannot be reached: look up only.
      if (this.port > 0) await dht.announce(this.#infoHashHex, this.port)
      else await dht.lookup(this.#infoHashHex)
      if (!this.#destroyed && this.port > 0) this.emit('announced')
    } catch (err) {
      if (!this.#destroyed) this.emit('warning', new Error(`DHT: ${(err as Error).message}`))
    }
    this.#later(() => { void this.#dhtLoop(dht) }, this.#init.announceIntervalMs ?? DHT_ANNOUNCE_INTERVAL_MS)
  }

  #later (fn: () => void, ms: number): void {
    if (this.#destroyed) return
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      fn()
    }, ms)
    this.#timers.add(timer)
  }

  async destroy (): Promise<void> {
    if (this.#destroyed) return
    this.#destroyed = true
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    this.#stopListening?.()
    this.#stopDht?.()
    this.#abort.abort()
    // BEP 3 `event=stopped`: trackers forget us at once instead of handing our address out until it times out.
    const stop = AbortSignal.timeout(2000)
    await Promise.allSettled(this.trackers.map(async (url) => await this.#announceOnce(url, 'stopped', stop)))
    for (const conn of this.#open) conn.close()
    this.removeAllListeners()
  }
}

function localAddresses (): Set<string> {
  const out = new Set<string>(['::1', '::'])
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(normalizeIp(a.address))
  return out
}
