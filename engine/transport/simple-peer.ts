/**
 * A Connection over a simple-peer instance (what bittorrent-tracker's WebSocket client hands out for each peer).
 *
 * Reading goes through simple-peer's stream. Writing goes straight to the RTCDataChannel underneath once it is
 * open: simple-peer's own write path pauses whenever more than 64 KiB are queued, which caps a data channel well
 * below what it can carry (see ENVIRONMENT.md: the raw ceiling needs several MiB in flight). We keep our own
 * high/low water marks (constants.ts) and report `drain` from the channel's `bufferedamountlow` event.
 */
import { SEND_LOW_WATER_MARK } from '../constants.js'
import { Emitter } from '../util/emitter.js'
import { normalizeIp } from '../util/ip.js'
import { isRemoteClose, sdpFingerprint, type Connection, type ConnectionEvents, type RemoteIdentity } from './index.js'

/** The part of simple-peer (feross/simple-peer 9, @thaunknown/simple-peer 10) that we use. */
export interface SimplePeerLike {
  readonly initiator?: boolean
  readonly connected: boolean
  readonly remoteAddress?: string
  readonly remotePort?: number
  /** Private in simple-peer, stable across versions 9 and 10; used only for sending (see above). */
  readonly _channel?: RTCDataChannel | null
  /** Private in simple-peer 9 and 10: the RTCPeerConnection, read only for the remote's DTLS fingerprint. */
  readonly _pc?: { readonly remoteDescription?: { readonly sdp?: string } | null } | null
  on (event: 'data', listener: (data: Uint8Array) => void): unknown
  on (event: 'close', listener: () => void): unknown
  on (event: 'error', listener: (err: Error) => void): unknown
  on (event: 'connect', listener: () => void): unknown
  once (event: 'connect', listener: () => void): unknown
  write (data: Uint8Array): boolean
  destroy (err?: Error): void
}


export class SimplePeerConnection extends Emitter<ConnectionEvents> implements Connection {
  readonly initiator: boolean
  readonly #peer: SimplePeerLike
  #channel: RTCDataChannel | undefined
  closed = false

  constructor (peer: SimplePeerLike) {
    super()
    this.#peer = peer
    this.initiator = peer.initiator === true
    peer.on('data', (data) => {
      if (!this.closed) this.emit('data', data)
    })
    peer.on('close', () => this.#onClose())
    peer.on('error', (err) => {
      if (this.closed) return
      // libdatachannel reports the remote side closing its channel as an SCTP "User-Initiated Abort": that is a
      // peer leaving, not something worth a warning.
      if (!isRemoteClose(err.message)) this.emit('error', err)
      this.close()
    })
    const channel = peer._channel
    if (channel !== null && channel !== undefined && typeof channel.send === 'function') {
      this.#channel = channel
      channel.bufferedAmountLowThreshold = SEND_LOW_WATER_MARK
      channel.addEventListener('bufferedamountlow', () => {
        if (!this.closed) this.emit('drain')
      })
    }
  }

  get remoteAddress (): string {
    const address = this.#peer.remoteAddress
    return address === undefined ? 'webrtc' : `webrtc ${address}:${this.#peer.remotePort ?? 0}`
  }

  /**
   * simple-peer learns the remote address after connecting; the fingerprint is in the remote description. The address
   * is normalised (an IPv4-mapped one is its IPv4 address) so that a ban on it holds however the remote's candidate
   * wrote it.
   */
  get identity (): RemoteIdentity {
    const address = this.#peer.remoteAddress
    return { address: address === undefined ? undefined : normalizeIp(address), fingerprint: sdpFingerprint(this.#peer._pc?.remoteDescription?.sdp ?? undefined) }
  }

  get bufferedAmount (): number {
    return this.#channel?.bufferedAmount ?? 0
  }

  send (data: Uint8Array): void {
    if (this.closed) return
    if (this.#channel !== undefined) {
      if (this.#channel.readyState !== 'open') {
        this.close()
        return
      }
      try {
        this.#channel.send(data as Uint8Array<ArrayBuffer>)
      } catch (err) {
        this.emit('error', err as Error)
        this.close()
      }
      return
    }
    this.#peer.write(data)
  }

  #onClose (): void {
    if (this.closed) return
    this.closed = true
    this.emit('close')
    this.removeAllListeners()
  }

  close (): void {
    if (this.closed) return
    this.#peer.destroy()
    this.#onClose()
  }
}
