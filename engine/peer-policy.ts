/**
 * Peer policy: which peers to snub, to turn over when the peer list is full while pieces are wanted (turnover while
 * seeding is engine/seeding-turnover.ts, which comes with the serving side's code), and to ban, decided in one place from
 * per-peer records (bytes delivered, requests timed out, bad pieces). Pure: time comes in as arguments, no timers,
 * no sockets; the downloader reports what happened, the peer list and the downloader act on the answers.
 * (libtorrent: peer_connection's snubbing, torrent's peer turnover, policy/peer_list's ban bookkeeping.)
 */
import { MAX_DEPARTED_PEER_RECORDS, MAX_HASH_FAILURES_PER_PEER, SNUB_AFTER_MS, USELESS_PEER_AFTER_MS } from './constants.js'

/** What a remote looks like apart from the peer id it chose (see transport/index.ts RemoteIdentity). */
export interface PeerIdentity {
  address?: string | undefined
  fingerprint?: string | undefined
}

export interface PeerRecord {
  readonly key: string
  connectedAt: number
  /** Bytes of new blocks (not duplicates) it sent us. */
  bytesDelivered: number
  lastDeliveredAt: number | undefined
  /** Since when it has had requests outstanding without delivering a block; undefined while it has none. */
  waitingSince: number | undefined
  /** Pieces proven bad: it alone sent a failed piece, or smart ban found its block wrong. */
  badPieces: number
  snubbed: boolean
  connected: boolean
  identity: PeerIdentity
}

export interface PeerPolicyInit {
  snubAfterMs?: number
  uselessAfterMs?: number
  maxBadPieces?: number
}

export class PeerPolicy {
  readonly #records = new Map<string, PeerRecord>()
  readonly #snubAfterMs: number
  readonly #uselessAfterMs: number
  readonly #maxBadPieces: number

  constructor (init: PeerPolicyInit = {}) {
    this.#snubAfterMs = init.snubAfterMs ?? SNUB_AFTER_MS
    this.#uselessAfterMs = init.uselessAfterMs ?? USELESS_PEER_AFTER_MS
    this.#maxBadPieces = init.maxBadPieces ?? MAX_HASH_FAILURES_PER_PEER
  }

  /**
   * A peer finished its handshake. A peer id seen before keeps its record (strikes included), unless the record is
   * provably another remote's (a peer id is self-chosen: strikes earned under the origin's id by a remote claiming
   * it are not the origin's); `strikes` starts a new one short of a ban (its remote had a peer banned).
   */
  connected (key: string, now: number, identity: PeerIdentity = {}, strikes = 0): PeerRecord {
    let record = this.#records.get(key)
    if (record === undefined || otherRemote(record.identity, identity)) {
      record = {
        key, connectedAt: now, bytesDelivered: 0, lastDeliveredAt: undefined, waitingSince: undefined,
        badPieces: 0, snubbed: false, connected: true, identity: {}
      }
    }
    this.#records.delete(key) // re-insert as the newest (departed records are dropped oldest first)
    this.#records.set(key, record)
    record.connected = true
    record.connectedAt = now
    record.waitingSince = undefined
    record.snubbed = false
    this.identify(key, identity)
    record.badPieces = Math.max(record.badPieces, Math.min(strikes, this.#maxBadPieces - 1))
    return record
  }

  /** The remote's identity became known (the transport learns its address after the channel opens). */
  identify (key: string, identity: PeerIdentity): void {
    const record = this.#records.get(key)
    if (record === undefined) return
    record.identity.address = identity.address ?? record.identity.address
    record.identity.fingerprint = identity.fingerprint ?? record.identity.fingerprint
  }

  disconnected (key: string): void {
    const record = this.#records.get(key)
    if (record === undefined) return
    record.connected = false
    record.snubbed = false
    record.waitingSince = undefined
    // Drop the oldest departed record beyond the bound (connected peers are far fewer than the bound).
    if (this.#records.size > MAX_DEPARTED_PEER_RECORDS) {
      for (const [k, r] of this.#records) {
        if (r.connected) continue
        this.#records.delete(k)
        break
      }
    }
  }

  get (key: string): Readonly<PeerRecord> | undefined {
    return this.#records.get(key)
  }

  /** Requests were sent: the wait for its next block starts now unless it was already waiting. */
  requested (key: string, now: number): void {
    const record = this.#records.get(key)
    if (record !== undefined) record.waitingSince ??= now
  }

  /**
   * A new block arrived. `stillOutstanding`: requests it still holds. Returns true when this ends a snub (the
   * caller lifts the one-request limit).
   */
  delivered (key: string, bytes: number, now: number, stillOutstanding: number): boolean {
    const record = this.#records.get(key)
    if (record === undefined) return false
    record.bytesDelivered += bytes
    record.lastDeliveredAt = now
    record.waitingSince = stillOutstanding > 0 ? now : undefined
    const wasSnubbed = record.snubbed
    record.snubbed = false
    return wasSnubbed
  }

  /** Its pipeline is empty (choked, cancelled, everything answered): nothing to wait for. */
  idle (key: string): void {
    const record = this.#records.get(key)
    if (record !== undefined) record.waitingSince = undefined
  }

  /**
   * Peers to snub now: requests outstanding (`outstanding(key) > 0`) and no block for snubAfterMs. Marks them;
   * the caller moves their requests to others and limits them to one.
   */
  snubDue (now: number, outstanding: (key: string) => number): string[] {
    const out: string[] = []
    for (const record of this.#records.values()) {
      if (!record.connected || record.snubbed || record.waitingSince === undefined) continue
      if (outstanding(record.key) === 0) {
        record.waitingSince = undefined
        continue
      }
      if (now - record.waitingSince < this.#snubAfterMs) continue
      record.snubbed = true
      out.push(record.key)
    }
    return out
  }

  /** Proven bad data from this peer. True when it must be banned now. */
  badPiece (key: string): boolean {
    const record = this.#records.get(key)
    if (record === undefined) return true
    record.badPieces++
    return record.badPieces >= this.#maxBadPieces
  }

  /**
   * The peer to disconnect so a newcomer can have its place while pieces are wanted, or undefined when every
   * connected peer is worth its slot: snubbed peers, then peers that delivered nothing for uselessAfterMs (since they
   * connected or last delivered); among them the one that delivered least, the longest idle first. (While seeding,
   * engine/seeding-turnover.ts decides.)
   */
  evictionCandidate (now: number): string | undefined {
    let best: string | undefined
    let bestScore: number[] = []
    for (const r of this.#records.values()) {
      const since = r.lastDeliveredAt ?? r.connectedAt
      const rank = r.snubbed ? 2 : now - since >= this.#uselessAfterMs ? 1 : 0
      if (!r.connected || rank === 0) continue
      // Higher is worse: snubbed before idle, then less delivered, then idle longer.
      const score = [rank, -r.bytesDelivered, -since]
      if (best === undefined || worse(score, bestScore)) {
        best = r.key
        bestScore = score
      }
    }
    return best
  }
}

function worse (a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! > b[i]!
  return false
}

/**
 * Provably different remotes: different DTLS certificates (the DTLS handshake proves that the remote holds its
 * certificate's key: nobody presents another's), or, without certificates, different addresses. Unknown is not
 * different.
 */
export function otherRemote (a: PeerIdentity, b: PeerIdentity): boolean {
  return a.fingerprint !== undefined && b.fingerprint !== undefined
    ? a.fingerprint !== b.fingerprint
    : a.address !== undefined && b.address !== undefined && a.address !== b.address
}
