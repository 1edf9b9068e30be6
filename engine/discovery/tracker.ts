/**
 * Peers from WebSocket trackers, through bittorrent-tracker's client. The WebSocket tracker protocol carries
 * WebRTC offers and answers, so every peer it reports is a simple-peer instance that is still connecting; we wait
 * for its data channel to open before handing it to the torrent.
 */
import TrackerClient from 'bittorrent-tracker'
import { Emitter } from '../util/emitter.js'
import { toHex } from '../util/bytes.js'
import { SimplePeerConnection, type SimplePeerLike } from '../transport/simple-peer.js'
import type { AnnounceStats, Discovery, DiscoveryEvents, DiscoveryInit } from './index.js'
import { WS_CONNECT_TIMEOUT_MS } from '../constants.js'

export interface TrackerDiscoveryInit extends DiscoveryInit {
  /** ws:// or wss:// tracker URLs. */
  announce: readonly string[]
  /** RTCPeerConnection implementation; in Node, node-datachannel's polyfill. Browsers use their own. */
  wrtc?: { RTCPeerConnection: unknown, RTCSessionDescription: unknown, RTCIceCandidate: unknown }
  rtcConfig?: RTCConfiguration
  /** How many offers to send per announce (peers wanted). */
  numwant?: number
  /** Re-announce period override (ms), for tests that want late joiners found quickly. */
  announceIntervalMs?: number
  /** Seconds a WebRTC connection may take to open before it is dropped. */
  connectTimeoutMs?: number
}

const DEFAULT_NUMWANT = 10

export class TrackerDiscovery extends Emitter<DiscoveryEvents> implements Discovery {
  readonly #init: TrackerDiscoveryInit
  #client: TrackerClient | undefined
  #stats: AnnounceStats = { uploaded: 0, downloaded: 0, left: 0 }
  #destroyed = false

  constructor (init: TrackerDiscoveryInit) {
    super()
    this.#init = init
  }

  start (stats: AnnounceStats): void {
    if (this.#client !== undefined || this.#destroyed) return
    this.#stats = stats
    const client = new TrackerClient({
      infoHash: toHex(this.#init.infoHash),
      peerId: toHex(this.#init.peerId),
      announce: [...this.#init.announce],
      // Required by the client in Node, meaningless for WebSocket trackers.
      port: 6881,
      wrtc: this.#init.wrtc,
      rtcConfig: this.#init.rtcConfig,
      getAnnounceOpts: () => ({ ...this.#stats, numwant: this.#init.numwant ?? DEFAULT_NUMWANT })
    })
    this.#client = client
    client.on('update', () => this.emit('announced'))
    client.on('warning', (err: Error) => this.emit('warning', err))
    client.on('error', (err: Error) => this.emit('warning', err))
    client.on('peer', (peer: SimplePeerLike | string) => {
      if (typeof peer === 'string') return // HTTP/UDP trackers return addresses we cannot dial from WebRTC
      this.#onPeer(peer)
    })
    if (this.#init.announceIntervalMs !== undefined) client.setInterval(this.#init.announceIntervalMs)
    client.start()
  }

  #onPeer (peer: SimplePeerLike & { id?: string }): void {
    if (this.#destroyed || (peer.id !== undefined && this.#init.wantsPeer?.(peer.id) === false)) {
      peer.destroy()
      return
    }
    const onError = (): void => peer.destroy()
    peer.on('error', onError)
    if (peer.connected) {
      this.emit('connection', new SimplePeerConnection(peer))
      return
    }
    const timer = setTimeout(() => peer.destroy(), this.#init.connectTimeoutMs ?? WS_CONNECT_TIMEOUT_MS)
    peer.once('connect', () => {
      clearTimeout(timer)
      if (this.#destroyed) {
        peer.destroy()
        return
      }
      this.emit('connection', new SimplePeerConnection(peer))
    })
    peer.on('close', () => clearTimeout(timer))
  }

  update (stats: AnnounceStats): void {
    this.#stats = stats
  }

  complete (stats: AnnounceStats): void {
    this.#stats = stats
    this.#client?.complete({ ...stats })
  }

  async destroy (): Promise<void> {
    if (this.#destroyed) return
    this.#destroyed = true
    const client = this.#client
    this.#client = undefined
    this.removeAllListeners()
    if (client === undefined) return
    await new Promise<void>((resolve) => {
      // Sends `event=stopped` where it can; never wait long for a tracker that is gone.
      const timer = setTimeout(resolve, 1000)
      client.destroy(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
}
