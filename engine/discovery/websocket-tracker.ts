/**
 * Peers from WebSocket trackers, with no dependencies: the protocol that bittorrent-tracker's server and WebTorrent
 * speak, over the platform's WebSocket and RTCPeerConnection. This is what browsers load instead of
 * bittorrent-tracker's client + simple-peer (~52 KB gzipped with their polyfills); Node can use it too by passing
 * the `ws` package's WebSocket and node-datachannel's RTCPeerConnection.
 *
 * The protocol, one JSON object per WebSocket text message. Infohash, peer ids and offer ids are 20 bytes sent as
 * "binary strings" (one char per byte, code 0-255).
 *   we -> tracker  { action: 'announce', info_hash, peer_id, numwant, uploaded, downloaded, left,
 *                    event?: 'started' | 'completed' | 'stopped', offers?: [{ offer: {type, sdp}, offer_id }] }
 *                  The tracker hands each offer to one random peer of the swarm (numwant = offers.length).
 *   tracker -> we  { action: 'announce', info_hash, interval, complete, incomplete }        (our announce acked)
 *                  { action: 'announce', info_hash, peer_id, offer, offer_id }              (someone's offer)
 *                  { action: 'announce', info_hash, peer_id, answer, offer_id }             (answer to our offer)
 *                  { 'failure reason' } or { 'warning message' }
 *   we -> tracker  { action: 'announce', info_hash, peer_id, to_peer_id, answer, offer_id } (our answer)
 * Descriptions are non-trickle: every candidate is in the SDP (see ../transport/webrtc.ts).
 */
import { Emitter } from '../util/emitter.js'
import { randomBytes, toHex, utf8 } from '../util/bytes.js'
import {
  createAnswer, createOffer, type RTCPeerConnectionConstructor, type SessionDescription, type WebRtcConnection
} from '../transport/webrtc.js'
import type { AnnounceStats, Discovery, DiscoveryEvents, DiscoveryInit } from './index.js'
import { CHECK_ARGS, WS_CONNECT_TIMEOUT_MS, WS_DEFAULT_INTERVAL_MS, WS_DEFAULT_NUMWANT, WS_MAX_HELD_BYTES, WS_MAX_OFFERS_PER_ANNOUNCE, WS_MAX_INTERVAL_MS, WS_MAX_PENDING, WS_MIN_INTERVAL_MS, WS_OFFER_TIMEOUT_MS, WS_RECONNECT_MAX_MS, WS_RECONNECT_MIN_MS } from '../constants.js'

/** The part of the WebSocket API we use: browsers' WebSocket and the `ws` package's both fit. */
/** Defined true in the browser builds (scripts/build-browser.mjs). */
declare const PEERSITE_BROWSER: boolean | undefined

export interface WebSocketLike {
  readonly readyState: number
  send (data: string): void
  close (): void
  /* eslint-disable @typescript-eslint/no-explicit-any -- DOM and `ws` type their event arguments differently */
  onopen: ((event: any) => void) | null
  onmessage: ((event: any) => void) | null
  onclose: ((event: any) => void) | null
  onerror: ((event: any) => void) | null
  /* eslint-enable @typescript-eslint/no-explicit-any */
}
export type WebSocketConstructor = new (url: string) => WebSocketLike

export interface WebSocketTrackerDiscoveryInit extends DiscoveryInit {
  /** ws:// or wss:// tracker URLs; each gets its own socket. */
  announce: readonly string[]
  rtcConfig?: RTCConfiguration
  /** Default: globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor
  /** Default: globalThis.RTCPeerConnection. */
  RTCPeerConnection?: RTCPeerConnectionConstructor
  /** Offers sent per announce, per tracker (peers wanted). */
  numwant?: number
  /** An offer nobody answered within this time is destroyed. */
  offerTimeoutMs?: number
  /** A peer that answered (or that we answered) must open its data channel within this time. */
  connectTimeoutMs?: number
  /** Re-announce period override (ms); otherwise the tracker's `interval`. */
  announceIntervalMs?: number
}


const WS_OPEN = 1

/** Bytes -> binary string (each byte one char code), as the tracker protocol carries ids. */
export function bytesToBinary (bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += String.fromCharCode(b)
  return out
}

/** Binary string -> bytes; undefined unless it is `length` chars all below 256. */
export function binaryToBytes (s: unknown, length = 20): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length !== length) return undefined
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) {
    const c = s.charCodeAt(i)
    if (c > 255) return undefined
    out[i] = c
  }
  return out
}

export interface AnnounceMessage {
  action: 'announce'
  info_hash: string
  peer_id: string
  numwant: number
  uploaded: number
  downloaded: number
  left?: number
  event?: 'started' | 'completed' | 'stopped'
  offers?: Array<{ offer: SessionDescription, offer_id: string }>
  trackerid?: string
}

export interface AnswerMessage {
  action: 'announce'
  info_hash: string
  peer_id: string
  to_peer_id: string
  answer: SessionDescription
  offer_id: string
  trackerid?: string
}

/** What a tracker message means to us; `ignore` for anything not for this torrent or malformed (the reason is not kept: nothing reads it). */
export type TrackerMessage =
  | { kind: 'response', interval?: number, trackerId?: string, warning?: string, acked: boolean, swarmSize?: number }
  | { kind: 'failure', reason: string }
  | { kind: 'offer', peerId: Uint8Array, offerId: string, offer: SessionDescription }
  | { kind: 'answer', peerId: Uint8Array, offerId: string, answer: SessionDescription }
  | { kind: 'ignore' }

function isDescription (d: unknown, type: 'offer' | 'answer'): d is SessionDescription {
  return typeof d === 'object' && d !== null && (d as SessionDescription).type === type && typeof (d as SessionDescription).sdp === 'string'
}

const IGNORE: TrackerMessage = { kind: 'ignore' }

/** A number from JSON, NaN for anything else: Number() on an object from JSON may throw ({"toString": 1}). */
const num = (v: unknown): number => typeof v === 'number' ? v : NaN

/** Decodes one message from a tracker for the torrent `infoHash` and our `peerId` (binary strings). */
export function parseTrackerMessage (data: unknown, infoHash: string, peerId: string): TrackerMessage {
  let msg: Record<string, unknown>
  try {
    // A browser's WebSocket gives text frames as strings (binary ones as a Blob, which is not JSON): bytes are Node's `ws`.
    const text = typeof PEERSITE_BROWSER !== 'undefined' || typeof data === 'string' ? data as string : utf8.decode(data instanceof ArrayBuffer ? new Uint8Array(data) : data as Uint8Array)
    msg = JSON.parse(text) as Record<string, unknown>
  } catch {
    return { kind: 'failure', reason: 'invalid tracker message (not JSON)' }
  }
  if (typeof msg !== 'object' || msg === null) return { kind: 'failure', reason: 'invalid tracker message' }
  const failure = msg['failure reason']
  // A failure about a malformed request comes without info_hash: it is ours all the same (one socket per torrent).
  if (failure !== undefined && (msg.info_hash === undefined || msg.info_hash === infoHash)) {
    // A non-string reason is a failure all the same. (Never String() on a value from JSON: {"toString": 1} throws.)
    return { kind: 'failure', reason: typeof failure === 'string' ? failure : 'invalid tracker message' }
  }
  // Nothing else is for us: another action (scrape), another torrent.
  if (msg.action !== 'announce' || msg.info_hash !== infoHash) return IGNORE
  if (msg.peer_id !== undefined) {
    const remote = binaryToBytes(msg.peer_id)
    // A malformed peer id, our own message echoed, a malformed offer id.
    if (remote === undefined || msg.peer_id === peerId || typeof msg.offer_id !== 'string' || binaryToBytes(msg.offer_id) === undefined) return IGNORE
    if (isDescription(msg.offer, 'offer')) return { kind: 'offer', peerId: remote, offerId: msg.offer_id, offer: { type: 'offer', sdp: msg.offer.sdp } }
    if (isDescription(msg.answer, 'answer')) return { kind: 'answer', peerId: remote, offerId: msg.offer_id, answer: { type: 'answer', sdp: msg.answer.sdp } }
    return IGNORE
  }
  const seconds = num(msg.interval ?? msg['min interval'])
  const swarmSize = num(msg.complete) + num(msg.incomplete)
  const trackerId = msg['tracker id']
  const warning = msg['warning message']
  return {
    kind: 'response',
    // Infinity (1e400 in JSON) too: the schedule keeps within WS_MAX_INTERVAL_MS.
    interval: seconds > 0 ? seconds * 1000 : undefined,
    trackerId: typeof trackerId === 'string' ? trackerId : undefined,
    warning: typeof warning === 'string' ? warning : undefined,
    acked: msg.complete !== undefined || msg.incomplete !== undefined,
    swarmSize: Number.isSafeInteger(swarmSize) && swarmSize >= 0 ? swarmSize : undefined
  }
}

/** One tracker URL: its socket, reconnects, re-announces and the offers sent through it. */
class TrackerSocket {
  readonly url: string
  readonly #owner: WebSocketTrackerDiscovery
  #socket: WebSocketLike | undefined
  #retries = 0
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined
  #announceTimer: ReturnType<typeof setTimeout> | undefined
  #intervalMs: number
  #trackerId: string | undefined
  #announcing = false
  #startedSent = false
  /**
   * The first announce's offers, gathered while the socket opens: ICE gathering (100-350 ms in a browser) and the
   * WebSocket handshake ran one after the other before.
   */
  #prepared: Promise<Array<{ offer: SessionDescription, offer_id: string }>> | undefined
  /** offer_id (binary string) -> the offering connection awaiting an answer. */
  readonly pending = new Map<string, { connection: WebRtcConnection, timer: ReturnType<typeof setTimeout> }>()
  /**
   * Other peers in the swarm at the last response (its counts include us), undefined before the first: the
   * tracker hands out at most that many offers, and the rest would only hold ports until they time out.
   */
  others: number | undefined
  destroyed = false

  constructor (owner: WebSocketTrackerDiscovery, url: string) {
    this.#owner = owner
    this.url = url
    this.#intervalMs = owner.intervalOverride ?? WS_DEFAULT_INTERVAL_MS
  }

  open (): void {
    if (this.destroyed) return
    let socket: WebSocketLike
    try {
      socket = new this.#owner.WebSocketCtor(this.url)
    } catch (err) {
      this.#warn((err as Error).message)
      this.#scheduleReconnect()
      return
    }
    this.#socket = socket
    this.#prepared = this.#owner.makeOffers(this)
    this.#prepared.catch(() => {})
    let opened = false
    socket.onopen = () => {
      opened = true
      this.#retries = 0
      this.#startedSent = false
      void this.announce()
    }
    socket.onmessage = (event: { data: unknown }) => {
      // An error escaping onmessage is uncaught in Node (`ws`) and ends the process: a bad message is a warning.
      try {
        this.#onMessage(event.data)
      } catch (err) {
        this.#warn((err as Error).message)
      }
    }
    socket.onerror = () => {} // a close follows; it is reported there
    socket.onclose = () => {
      if (this.#socket !== socket) return
      this.#socket = undefined
      this.#dropPending()
      if (!this.destroyed) {
        this.#warn(opened ? 'connection closed' : 'cannot connect')
        this.#scheduleReconnect()
      }
    }
  }

  /** A warning about this tracker, named by its URL. */
  #warn (text: string): void {
    this.#owner.warn(new Error(`tracker ${this.url}: ${text}`))
  }

  #scheduleReconnect (): void {
    if (this.destroyed) return
    const base = Math.min(WS_RECONNECT_MIN_MS * 2 ** this.#retries, WS_RECONNECT_MAX_MS)
    this.#retries++
    clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = setTimeout(() => this.open(), base / 2 + Math.random() * base / 2)
  }

  get connected (): boolean {
    return this.#socket !== undefined && this.#socket.readyState === WS_OPEN
  }

  send (message: AnnounceMessage | AnswerMessage): void {
    if (!this.connected) return
    if (this.#trackerId !== undefined) message.trackerid = this.#trackerId
    try {
      this.#socket!.send(JSON.stringify(message))
    } catch (err) {
      this.#warn((err as Error).message)
    }
  }

  /** Announces with fresh offers (or, for completed/stopped, without any), then schedules the next one. */
  async announce (event?: 'completed' | 'stopped'): Promise<void> {
    if (!this.connected) return
    if (event !== undefined) {
      this.send(this.#owner.announceMessage(event, []))
      return
    }
    if (this.#announcing) return
    this.#announcing = true
    clearTimeout(this.#announceTimer)
    try {
      const prepared = this.#prepared
      this.#prepared = undefined
      const offers = await (prepared ?? this.#owner.makeOffers(this))
      if (this.destroyed || !this.connected) {
        for (const o of offers) this.#dropOffer(o.offer_id)
        return
      }
      this.send(this.#owner.announceMessage(this.#startedSent ? undefined : 'started', offers))
      this.#startedSent = true
    } finally {
      this.#announcing = false
      this.#scheduleAnnounce()
    }
  }

  #scheduleAnnounce (): void {
    clearTimeout(this.#announceTimer)
    if (this.destroyed || !this.connected) return
    this.#announceTimer = setTimeout(() => { void this.announce() }, Math.min(WS_MAX_INTERVAL_MS, Math.max(WS_MIN_INTERVAL_MS, this.#intervalMs)))
  }

  addPending (offerId: string, connection: WebRtcConnection, timeoutMs: number): void {
    const timer = setTimeout(() => this.#dropOffer(offerId), timeoutMs)
    this.pending.set(offerId, { connection, timer })
  }

  /** An offer's connection, no longer waiting for its answer (its timer stopped); undefined if it was not waiting. */
  #take (offerId: string): WebRtcConnection | undefined {
    const entry = this.pending.get(offerId)
    if (entry === undefined) return undefined
    clearTimeout(entry.timer)
    this.pending.delete(offerId)
    return entry.connection
  }

  #dropOffer (offerId: string): void {
    this.#take(offerId)?.close()
  }

  /** The socket is gone: no announce is due on it, and its offers (sent or still being made) are dropped. */
  #dropPending (): void {
    clearTimeout(this.#announceTimer)
    const prepared = this.#prepared
    this.#prepared = undefined
    void prepared?.then((offers) => { for (const o of offers) this.#dropOffer(o.offer_id) }, () => {})
    for (const id of [...this.pending.keys()]) this.#dropOffer(id)
  }

  #onMessage (data: unknown): void {
    if (this.destroyed) return
    const msg = parseTrackerMessage(data, this.#owner.infoHashBinary, this.#owner.peerIdBinary)
    switch (msg.kind) {
      case 'failure':
        this.#warn(msg.reason)
        return
      case 'response':
        if (msg.warning !== undefined) this.#warn(msg.warning)
        if (msg.trackerId !== undefined) this.#trackerId = msg.trackerId
        if (msg.interval !== undefined && this.#owner.intervalOverride === undefined && msg.interval !== this.#intervalMs) {
          this.#intervalMs = msg.interval
          if (!this.#announcing) this.#scheduleAnnounce()
        }
        if (msg.swarmSize !== undefined) this.others = Math.max(0, msg.swarmSize - 1)
        if (msg.acked) this.#owner.emit('announced')
        return
      case 'offer':
        this.#owner.onOffer(this, msg.peerId, msg.offerId, msg.offer)
        return
      case 'answer': {
        const connection = this.#take(msg.offerId)
        // undefined: late, duplicate, or for an offer we already dropped
        if (connection !== undefined) this.#owner.onAnswer(connection, msg.peerId, msg.answer)
        return
      }
      case 'ignore':
    }
  }

  close (): void {
    if (this.destroyed) return
    this.destroyed = true
    clearTimeout(this.#reconnectTimer)
    this.#dropPending()
    const socket = this.#socket
    this.#socket = undefined
    if (socket !== undefined) {
      socket.onopen = socket.onmessage = socket.onclose = null
      socket.onerror = () => {}
      try { socket.close() } catch {}
    }
  }
}

export class WebSocketTrackerDiscovery extends Emitter<DiscoveryEvents> implements Discovery {
  readonly infoHashBinary: string
  readonly peerIdBinary: string
  readonly WebSocketCtor: WebSocketConstructor
  readonly intervalOverride: number | undefined
  readonly #init: WebSocketTrackerDiscoveryInit
  readonly #trackers: TrackerSocket[] = []
  /** Connections still opening (offers awaiting answers are counted by their tracker). */
  readonly #connecting = new Set<WebRtcConnection>()
  /** Answers to offers still being made (ICE gathering): their connections join #connecting only once made. */
  #answering = 0
  /** Open connections nobody listened for yet, with the bytes they received meanwhile. */
  #held: Array<{ connection: WebRtcConnection, chunks: Uint8Array[], release: () => void }> = []
  #stats: AnnounceStats = { uploaded: 0, downloaded: 0, left: 0 }
  #started = false
  #destroyed = false

  constructor (init: WebSocketTrackerDiscoveryInit) {
    super()
    this.#init = init
    if (CHECK_ARGS && (init.infoHash.length !== 20 || init.peerId.length !== 20)) throw new TypeError('infoHash and peerId have 20 bytes')
    this.infoHashBinary = bytesToBinary(init.infoHash)
    this.peerIdBinary = bytesToBinary(init.peerId)
    const ctor = init.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (CHECK_ARGS && ctor === undefined) throw new TypeError('no WebSocket: pass one (in Node, the `ws` package)')
    this.WebSocketCtor = ctor!
    this.intervalOverride = init.announceIntervalMs
  }

  /**
   * Opens the sockets and announces. A discovery may be started before anyone listens for `connection` (the loader
   * joins the swarm while site.torrent is still on its way): connections that open before then are held, their
   * bytes kept, and handed over to the first listener. A second call only updates the figures.
   */
  start (stats: AnnounceStats): void {
    if (this.#started && !this.#destroyed) {
      // Started early with the site's whole length left: a returning visitor that turns out to hold everything says
      // so now, so that the tracker counts it as a seeder (and pairs it with peers that need it).
      const wasLeft = this.#stats.left
      this.update(stats)
      if (stats.left === 0 && wasLeft !== 0) this.complete(stats)
      return
    }
    if (this.#started || this.#destroyed) return
    this.#started = true
    this.#stats = stats
    for (const url of new Set(this.#init.announce)) {
      if (!/^wss?:\/\//i.test(url)) {
        this.warn(new Error(`tracker ${url}: only ws:// and wss:// trackers work in a browser`))
        continue
      }
      const tracker = new TrackerSocket(this, url)
      this.#trackers.push(tracker)
      tracker.open()
    }
  }

  update (stats: AnnounceStats): void {
    this.#stats = stats
  }

  complete (stats: AnnounceStats): void {
    this.#stats = stats
    for (const t of this.#trackers) void t.announce('completed')
  }

  async destroy (): Promise<void> {
    if (this.#destroyed) return
    this.#destroyed = true
    for (const t of this.#trackers) {
      void t.announce('stopped')
      t.close()
    }
    for (const c of this.#connecting) c.close()
    this.#connecting.clear()
    for (const h of this.#held.splice(0)) {
      h.release()
      h.connection.close()
    }
    this.removeAllListeners()
  }

  override on<K extends keyof DiscoveryEvents> (event: K, listener: (...args: DiscoveryEvents[K]) => void): () => void {
    const off = super.on(event, listener)
    if (event === 'connection') {
      for (const { connection, chunks, release } of this.#held.splice(0)) {
        release()
        if (connection.closed) continue
        // The listener attaches its data handler synchronously (torrent.ts addConnection): replay what came first.
        this.emit('connection', connection)
        for (const chunk of chunks) connection.emit('data', chunk)
      }
    }
    return off
  }

  #hold (connection: WebRtcConnection): void {
    const chunks: Uint8Array[] = []
    let bytes = 0
    // A peer says little before we answer (handshake, bitfield, extended handshake): one that says more is dropped.
    const offData = connection.on('data', (chunk) => {
      chunks.push(chunk)
      if ((bytes += chunk.length) > WS_MAX_HELD_BYTES) connection.close()
    })
    const offClose = connection.on('close', () => { this.#held = this.#held.filter((h) => h.connection !== connection) })
    this.#held.push({ connection, chunks, release: () => { offData(); offClose() } })
  }

  /** @internal */
  warn (err: Error): void {
    if (!this.#destroyed) this.emit('warning', err)
  }

  /** @internal */
  announceMessage (event: AnnounceMessage['event'], offers: AnnounceMessage['offers'] & object): AnnounceMessage {
    const { uploaded, downloaded, left } = this.#stats
    return {
      action: 'announce',
      info_hash: this.infoHashBinary,
      peer_id: this.peerIdBinary,
      numwant: offers.length,
      uploaded,
      downloaded,
      // JSON has no Infinity; the tracker reads a missing `left` as "unknown, not a seeder". (JSON leaves out
      // what is undefined.)
      left: Number.isFinite(left) ? left : undefined,
      event,
      offers: event === undefined || event === 'started' ? offers : undefined
    }
  }

  #pendingCount (): number {
    let n = this.#connecting.size + this.#answering + this.#held.length
    for (const t of this.#trackers) n += t.pending.size
    return n
  }

  /** @internal Creates up to numwant offers for one announce, within the bound on open connections. */
  async makeOffers (tracker: TrackerSocket): Promise<Array<{ offer: SessionDescription, offer_id: string }>> {
    let wanted = Math.min(this.#init.numwant ?? WS_DEFAULT_NUMWANT, WS_MAX_OFFERS_PER_ANNOUNCE)
    // At least one even when we seemed alone: a peer may have joined since, and it may not offer itself.
    if (tracker.others !== undefined) wanted = Math.min(wanted, Math.max(1, tracker.others))
    const count = Math.max(0, Math.min(wanted, WS_MAX_PENDING - this.#pendingCount()))
    const results = await Promise.allSettled(Array.from({ length: count }, async () => await createOffer(this.#init)))
    const offers: Array<{ offer: SessionDescription, offer_id: string }> = []
    for (const r of results) {
      if (r.status === 'rejected') {
        this.warn(new Error(`cannot create a WebRTC offer: ${(r.reason as Error).message}`))
        continue
      }
      if (this.#destroyed || tracker.destroyed) {
        r.value.connection.close()
        continue
      }
      const offerId = bytesToBinary(randomBytes(20))
      tracker.addPending(offerId, r.value.connection, this.#init.offerTimeoutMs ?? WS_OFFER_TIMEOUT_MS)
      offers.push({ offer: r.value.offer, offer_id: offerId })
    }
    return offers
  }

  /** @internal A remote peer answered one of our offers. */
  onAnswer (connection: WebRtcConnection, peerId: Uint8Array, answer: SessionDescription): void {
    if (this.#destroyed || this.#init.wantsPeer?.(toHex(peerId)) === false) {
      connection.close()
      return
    }
    connection.accept(answer).catch((err: Error) => {
      this.warn(new Error(`bad WebRTC answer from a peer: ${err.message}`))
      connection.close()
    })
    this.#whenOpen(connection)
  }

  /** @internal A remote peer's offer arrived through `tracker`: answer it. */
  onOffer (tracker: TrackerSocket, peerId: Uint8Array, offerId: string, offer: SessionDescription): void {
    if (this.#destroyed || this.#init.wantsPeer?.(toHex(peerId)) === false) return
    if (this.#pendingCount() >= WS_MAX_PENDING) return
    const remote = bytesToBinary(peerId)
    this.#answering++
    createAnswer(offer, this.#init).then(({ connection, answer }) => {
      this.#answering--
      if (this.#destroyed || tracker.destroyed || !tracker.connected) {
        connection.close()
        return
      }
      this.#whenOpen(connection)
      tracker.send({ action: 'announce', info_hash: this.infoHashBinary, peer_id: this.peerIdBinary, to_peer_id: remote, answer, offer_id: offerId })
    }, (err: Error) => {
      this.#answering--
      this.warn(new Error(`cannot answer a WebRTC offer: ${err.message}`))
    })
  }

  /** Emits `connection` once the data channel opens; drops it if that takes too long. */
  #whenOpen (connection: WebRtcConnection): void {
    this.#connecting.add(connection)
    const timer = setTimeout(() => connection.close(), this.#init.connectTimeoutMs ?? WS_CONNECT_TIMEOUT_MS)
    // Synchronously from the channel's open event: the torrent must attach its data handler before any message.
    connection.onopen = () => {
      clearTimeout(timer)
      this.#connecting.delete(connection)
      if (this.#destroyed) connection.close()
      else if (this.listenerCount('connection') === 0) this.#hold(connection)
      else this.emit('connection', connection)
    }
    connection.ready.catch(() => {
      clearTimeout(timer)
      this.#connecting.delete(connection)
    })
  }
}
