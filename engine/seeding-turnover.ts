/**
 * Peer turnover while seeding: when the peer list is full, a peer with no interest either way (it wants nothing we
 * have, we want nothing) for PEER_INACTIVITY_TIMEOUT_MS gives its slot to a newcomer, the longest inactive first. A
 * seeder keeps the peers it serves (interested ones), and a link to another seed does not hold a slot forever.
 *
 * Only a torrent that has every piece needs it, so it comes with the serving side's code (engine/serving.ts:
 * Torrent.serve sets PeerList.seedingTurnover; a site's own loader brings it after the first page has painted).
 * Until then a seeding peer list turns no one over. Its clock starts when it is made: a peer connected before that
 * is inactive from then at the earliest, never from a time when nobody watched its interest.
 * (Turnover while pieces are wanted is the peer policy's: engine/peer-policy.ts evictionCandidate.)
 */
import { PEER_INACTIVITY_TIMEOUT_MS } from './constants.js'
import type { PeerPolicy } from './peer-policy.js'
import type { Peer } from './wire/peer.js'

export class SeedingTurnover {
  /** When each peer (connection) was last seen interested either way. */
  readonly #lastInterest = new WeakMap<Peer, number>()
  readonly #inactiveAfterMs: number
  readonly #since: number

  constructor (inactiveAfterMs = PEER_INACTIVITY_TIMEOUT_MS, now = Date.now()) {
    this.#inactiveAfterMs = inactiveAfterMs
    this.#since = now
  }

  /** Notes who is interested, either way, now (PeerList.tick, once a second, and before each choice). */
  noteInterest (peers: Iterable<Peer>, now: number): void {
    for (const p of peers) if (p.amInterested || p.peerInterested) this.#lastInterest.set(p, now)
  }

  /** The handshaken peer to disconnect so a newcomer can have its place, or undefined when all are worth theirs. */
  evictionCandidate (peers: Iterable<Peer>, policy: PeerPolicy, now: number): string | undefined {
    this.noteInterest(peers, now)
    let best: string | undefined
    let bestSince = Infinity
    for (const p of peers) {
      const record = policy.get(p.key)
      if (record?.connected !== true) continue
      const since = this.#lastInterest.get(p) ?? Math.max(record.connectedAt, this.#since)
      if (now - since >= this.#inactiveAfterMs && since < bestSince) {
        best = p.key
        bestSince = since
      }
    }
    return best
  }
}
