/**
 * A Connection over a standards RTCPeerConnection and one RTCDataChannel, with no dependencies: what browsers run
 * instead of simple-peer (which costs ~29 KB gzipped with its Buffer and stream polyfills). Node passes
 * node-datachannel's polyfill as `RTCPeerConnection` (import ./node-wrtc.js first).
 *
 * Signalling is NON-trickle: the WebSocket tracker protocol carries one offer and one answer per connection, so
 * each side waits until ICE gathering is complete and sends a description that already lists every candidate.
 *
 * Interoperates with simple-peer (what WebTorrent and bittorrent-tracker use): its initiator creates the data
 * channel with a random label and default options (ordered, reliable); its answerer takes whatever channel arrives.
 * We do the same, and descriptions travel as plain `{ type, sdp }`.
 */
import { CHECK_ARGS, ICE_GATHERING_TIMEOUT_MS, ICE_SETTLE_MS, SEND_LOW_WATER_MARK } from '../constants.js'
import { Emitter } from '../util/emitter.js'
import { randomBytes, toHex, utf8 } from '../util/bytes.js'
import { normalizeIp } from '../util/ip.js'
import { isRemoteClose, sdpFingerprint, type Connection, type ConnectionEvents, type RemoteIdentity } from './index.js'

/** What a description looks like on the wire (simple-peer's `signal` data for non-trickle peers). */
/** Defined by the browser builds (scripts/build-browser.mjs); undefined in Node. */
declare const PEERSITE_BROWSER: boolean | undefined

export interface SessionDescription {
  type: 'offer' | 'answer'
  sdp: string
}

export type RTCPeerConnectionConstructor = new (config?: RTCConfiguration) => RTCPeerConnection

export interface WebRtcInit {
  /** Default: globalThis.RTCPeerConnection (browsers). Node: node-datachannel's polyfill. */
  RTCPeerConnection?: RTCPeerConnectionConstructor
  rtcConfig?: RTCConfiguration
  /**
   * Longest wait for ICE gathering to complete before the description is sent with the candidates found so far.
   * A STUN server that does not answer would otherwise hold every offer for its full timeout.
   */
  iceTimeoutMs?: number
}



export class WebRtcConnection extends Emitter<ConnectionEvents> implements Connection {
  readonly initiator: boolean
  readonly pc: RTCPeerConnection
  remoteAddress = 'webrtc'
  readonly identity: RemoteIdentity = {}
  closed = false
  /** Resolves when the data channel opens (after `onopen` ran); rejects if the connection dies first. */
  readonly ready: Promise<void>
  /**
   * Called synchronously from the channel's `open` event, so whoever attaches `data` listeners here misses no
   * message (a promise callback runs later, possibly after the first message was dispatched).
   */
  onopen: (() => void) | undefined
  #channel: RTCDataChannel | undefined
  #open = false
  #resolveReady!: () => void
  #rejectReady!: (err: Error) => void
  #gathered: Promise<void>
  readonly #iceTimeoutMs: number

  /**
   * Prefer createOffer() / createAnswer(); this wires an RTCPeerConnection that nobody has signalled yet.
   * `wanted`: the candidate types after which the description may go out before gathering ends (candidateTypes).
   */
  constructor (pc: RTCPeerConnection, initiator: boolean, iceTimeoutMs = ICE_GATHERING_TIMEOUT_MS, wanted: readonly string[] = ['host']) {
    super()
    this.pc = pc
    this.initiator = initiator
    this.#iceTimeoutMs = iceTimeoutMs
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve
      this.#rejectReady = reject
    })
    this.ready.catch(() => {}) // nobody has to listen
    // Listen for the end of gathering from the start: node-datachannel begins gathering as soon as a description
    // is set, and may finish before anyone awaits it.
    this.#gathered = new Promise((resolve) => {
      const seen = new Set<string>()
      let settling = false
      const check = (event?: Event): void => {
        const candidate = (event as RTCPeerConnectionIceEvent | undefined)?.candidate
        if (candidate != null && !settling) {
          // "candidate:FOUNDATION COMPONENT PROTOCOL PRIORITY ADDRESS PORT typ TYPE ..." (RFC 8839 section 5.1)
          const [, , protocol, , , , , type] = candidate.candidate.split(' ')
          if (protocol?.toLowerCase() === 'udp' && type !== undefined) seen.add(type)
          if (wanted.every((t) => seen.has(t))) {
            settling = true
            setTimeout(resolve, ICE_SETTLE_MS)
          }
        }
        if (pc.iceGatheringState === 'complete' || (event !== undefined && candidate === null)) {
          pc.removeEventListener('icegatheringstatechange', onState)
          pc.removeEventListener('icecandidate', check)
          resolve()
        }
      }
      const onState = (): void => check()
      pc.addEventListener('icegatheringstatechange', onState)
      pc.addEventListener('icecandidate', check)
    })
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.#fail(new Error(`connection ${pc.connectionState}`))
    })
    if (!initiator) {
      pc.addEventListener('datachannel', (event) => {
        // simple-peer's initiator opens exactly one channel; a second one is not ours to use.
        if (this.#channel === undefined) this.#setChannel(event.channel)
      })
    }
  }

  /** Attaches the data channel (made by the initiator, or announced to the answerer). */
  #setChannel (channel: RTCDataChannel): void {
    this.#channel = channel
    channel.binaryType = 'arraybuffer'
    channel.bufferedAmountLowThreshold = SEND_LOW_WATER_MARK
    channel.addEventListener('open', () => this.#onOpen())
    channel.addEventListener('message', (event: MessageEvent) => {
      if (this.closed) return
      const data: unknown = event.data
      if (data instanceof ArrayBuffer) this.emit('data', new Uint8Array(data))
      else if (typeof data === 'string') this.emit('data', utf8.encode(data))
      // node-datachannel's polyfill may hand a view (Node); a browser's channel with binaryType 'arraybuffer' never does.
      else if (typeof PEERSITE_BROWSER === 'undefined' && ArrayBuffer.isView(data)) this.emit('data', new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    })
    channel.addEventListener('bufferedamountlow', () => {
      if (this.#open && !this.closed) this.emit('drain')
    })
    channel.addEventListener('close', () => this.#fail(new Error('data channel closed')))
    channel.addEventListener('error', (event: Event) => {
      const err = (event as RTCErrorEvent).error as Error | undefined
      const message = err?.message ?? 'data channel error'
      if (this.#open && !this.closed && !isRemoteClose(message)) this.emit('error', err ?? new Error(message))
      this.#fail(err ?? new Error(message))
    })
    if (channel.readyState === 'open') this.#onOpen()
  }

  #onOpen (): void {
    if (this.#open || this.closed) return
    this.#open = true
    this.#resolveReady()
    this.onopen?.()
    void this.#readRemoteAddress()
  }

  /** "webrtc IP:PORT" of the selected candidate pair, for logs. Best effort. */
  async #readRemoteAddress (): Promise<void> {
    try {
      const stats = await this.pc.getStats()
      const byId = new Map<string, Record<string, unknown>>()
      stats.forEach((s: Record<string, unknown>) => byId.set(s.id as string, s))
      for (const s of byId.values()) {
        if (s.type !== 'candidate-pair' || s.state !== 'succeeded' || s.nominated === false) continue
        const remote = byId.get(s.remoteCandidateId as string)
        const ip = remote?.address ?? remote?.ip
        if (typeof ip === 'string') {
          this.remoteAddress = `webrtc ${ip}:${String(remote?.port ?? 0)}`
          // A remote's ICE candidate may name an IPv4 host IPv4-mapped (::ffff:1.2.3.4): in Node its ban holds either
          // way (util/ip.ts). The browser bundles leave it out: the parser costs bytes on every first visit.
          this.identity.address = typeof PEERSITE_BROWSER === 'undefined' ? normalizeIp(ip) : ip
        }
        return
      }
    } catch {}
  }

  get bufferedAmount (): number {
    return this.#channel?.bufferedAmount ?? 0
  }

  /** Creates the offer (initiator only): the data channel, then a description that lists every candidate. */
  async offer (): Promise<SessionDescription> {
    this.#setChannel(this.pc.createDataChannel(toHex(randomBytes(20))))
    await this.pc.setLocalDescription(await this.pc.createOffer())
    return await this.#localDescription()
  }

  /** Answers a remote offer (answerer only). */
  async answer (offer: SessionDescription): Promise<SessionDescription> {
    await this.pc.setRemoteDescription(checkDescription(offer, 'offer'))
    this.identity.fingerprint = sdpFingerprint(offer.sdp)
    await this.pc.setLocalDescription(await this.pc.createAnswer())
    return await this.#localDescription()
  }

  /** Completes the initiator's side with the remote answer; the channel opens soon after. */
  async accept (answer: SessionDescription): Promise<void> {
    this.identity.fingerprint = sdpFingerprint(answer.sdp)
    await this.pc.setRemoteDescription(checkDescription(answer, 'answer'))
  }

  async #localDescription (): Promise<SessionDescription> {
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.#gathered, new Promise<void>((resolve) => { timer = setTimeout(resolve, this.#iceTimeoutMs) })])
    clearTimeout(timer)
    // node-datachannel reports gathering complete before it delivers the candidates as events, but its local
    // description already holds them all: read the description, never assemble candidates by hand.
    const desc = this.pc.localDescription
    if (this.closed) throw new Error('connection closed')
    if (desc === null || (desc.type !== 'offer' && desc.type !== 'answer')) throw new Error('no local description')
    // As simple-peer does for non-trickle peers: the remote must not wait for candidates that will never come.
    return { type: desc.type, sdp: desc.sdp.replace(/a=ice-options:trickle\s\n/g, '') }
  }

  send (data: Uint8Array): void {
    if (this.closed) return
    const channel = this.#channel
    if (channel === undefined || channel.readyState !== 'open') {
      this.close()
      return
    }
    try {
      channel.send(data as Uint8Array<ArrayBuffer>)
    } catch (err) {
      this.emit('error', err as Error)
      this.close()
    }
  }

  #fail (err: Error): void {
    this.#rejectReady(err)
    this.close()
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.#rejectReady(new Error('connection closed'))
    try { this.#channel?.close() } catch {}
    try { this.pc.close() } catch {}
    if (this.#open) this.emit('close')
    this.removeAllListeners()
  }
}

function checkDescription (desc: SessionDescription, type: 'offer' | 'answer'): RTCSessionDescriptionInit {
  if (desc === null || typeof desc !== 'object' || desc.type !== type || typeof desc.sdp !== 'string') {
    throw new TypeError(`not an SDP ${type}`)
  }
  return { type, sdp: desc.sdp }
}

/**
 * The candidate types a description waits for before gathering ends: a host candidate, and one from each kind of
 * ICE server configured (STUN: server reflexive, TURN: relay), without which peers behind NAT could not reach us.
 */
export function candidateTypes (config: RTCConfiguration | undefined): string[] {
  // Every URL, a string or in an array, starts after a quote in the JSON.
  const urls = JSON.stringify(config?.iceServers ?? [])
  return ['host', ...(/"stuns?:/i.test(urls) ? ['srflx'] : []), ...(/"turns?:/i.test(urls) ? ['relay'] : [])]
}

function peerConnection (init: WebRtcInit): RTCPeerConnection {
  const Ctor = init.RTCPeerConnection ?? (globalThis as { RTCPeerConnection?: RTCPeerConnectionConstructor }).RTCPeerConnection
  if (CHECK_ARGS && Ctor === undefined) throw new TypeError('no RTCPeerConnection: this environment has no WebRTC')
  return new Ctor!(init.rtcConfig)
}

/** The offering side: a connection (not open yet) and its complete offer. Call `connection.accept(answer)` next. */
export async function createOffer (init: WebRtcInit = {}): Promise<{ connection: WebRtcConnection, offer: SessionDescription }> {
  const connection = new WebRtcConnection(peerConnection(init), true, init.iceTimeoutMs, candidateTypes(init.rtcConfig))
  try {
    return { connection, offer: await connection.offer() }
  } catch (err) {
    connection.close()
    throw err
  }
}

/** The answering side: a connection (open once the remote applies the answer) and the answer to send back. */
export async function createAnswer (offer: SessionDescription, init: WebRtcInit = {}): Promise<{ connection: WebRtcConnection, answer: SessionDescription }> {
  const connection = new WebRtcConnection(peerConnection(init), false, init.iceTimeoutMs, candidateTypes(init.rtcConfig))
  try {
    return { connection, answer: await connection.answer(offer) }
  } catch (err) {
    connection.close()
    throw err
  }
}
