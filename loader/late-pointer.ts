/**
 * A keyed site's torrent speaks `peersite_pointer` from its first peer on, but the code that follows the site key
 * (loader/follow.ts, peersite-follow.js) loads after the first paint: this stand-in takes the torrent's calls until
 * then (peers whose handshake named the extension, their first messages) and hands them over when it arrives.
 */
import type { PointerPort } from '../engine/torrent.js'
import type { Peer } from '../engine/wire/peer.js'

/** Messages kept per peer until the exchange arrives (each is one record: a peer has no reason to send more). */
const MAX_QUEUED = 4

export class LatePointer implements PointerPort {
  #target: PointerPort | undefined
  readonly #peers = new Map<Peer, Uint8Array[]>()

  onExtendedHandshake (peer: Peer): void {
    if (this.#target !== undefined) this.#target.onExtendedHandshake(peer)
    else if (!this.#peers.has(peer)) this.#peers.set(peer, [])
  }

  async onMessage (peer: Peer, payload: Uint8Array): Promise<void> {
    if (this.#target !== undefined) return await this.#target.onMessage(peer, payload)
    const queue = this.#peers.get(peer) ?? []
    if (queue.length < MAX_QUEUED) queue.push(payload.slice())
    this.#peers.set(peer, queue)
  }

  onPeerClose (peer: Peer): void {
    this.#peers.delete(peer)
    this.#target?.onPeerClose(peer)
  }

  attach (target: PointerPort): void {
    this.#target = target
    for (const [peer, queue] of this.#peers) {
      target.onExtendedHandshake(peer)
      for (const payload of queue) void target.onMessage(peer, payload)
    }
    this.#peers.clear()
  }
}
