/**
 * A keyed site's torrent speaks `peersite_pointer` from its first peer on, but the code that follows the site key
 * (loader/follow.ts, peersite-follow.js) loads after the first paint: this stand-in remembers the peers that speak
 * the extension until then and hands them over. Their first records are not kept: the exchange sends each such peer
 * our record on attach, and a peer that knows a newer one answers with it (PointerExchange refuses the older one and
 * sends its current), so nothing is lost but a round trip.
 */
import type { PointerPort } from '../engine/torrent.js'
import type { Peer } from '../engine/wire/peer.js'

export class LatePointer implements PointerPort {
  #target: PointerPort | undefined
  readonly #peers = new Map<Peer, Uint8Array | undefined>()

  onExtendedHandshake (peer: Peer): void {
    if (this.#target !== undefined) this.#target.onExtendedHandshake(peer)
    else this.#peers.set(peer, undefined)
  }

  async onMessage (peer: Peer, payload: Uint8Array): Promise<void> {
    if (this.#target === undefined) this.#peers.set(peer, payload.slice())
    else await this.#target.onMessage(peer, payload)
  }

  onPeerClose (peer: Peer): void {
    this.#peers.delete(peer)
    this.#target?.onPeerClose(peer)
  }

  attach (target: PointerPort): void {
    this.#target = target
    for (const [peer, last] of this.#peers) {
      target.onExtendedHandshake(peer)
      if (last !== undefined) void target.onMessage(peer, last)
    }
    this.#peers.clear()
  }
}
