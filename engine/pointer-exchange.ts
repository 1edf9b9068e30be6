/**
 * Glue between the `peersite_pointer` extension (extensions/peersite_pointer.ts) and a PointerBook: tells each peer
 * that supports the extension the newest record we believe, right after its extended handshake and again whenever
 * a newer one is learnt (from a peer, or from the publisher itself), and offers every record a peer sends to the
 * book. One PointerExchange per swarm (the pointer swarm and each version's swarm), all sharing the site's book.
 *
 * Peer policy, in one place:
 * - a message that is not a well-formed record: a warning, and the peer is dropped (it breaks the protocol);
 * - a well-formed record whose signature or key is wrong: a warning, and the peer is dropped (forged);
 * - an older record (rollback): not the peer's fault (it may simply have an old version); it gets ours instead;
 * - a fork: reported once through `onRefused` (the visitor must be told) and not held against the peer; both
 *   records then go to every peer instead of a current one, so that the whole swarm refuses the fork;
 * - a peer repeating itself: one of its records is verified at a time, and of what it sends meanwhile only the latest
 *   waits its turn (the others are ignored); after POINTER_MAX_RECORDS_PER_PEER records on one connection the rest
 *   are ignored (each costs a signature check).
 */
import { POINTER_MAX_RECORDS_PER_PEER } from './constants.js'
import { ProtocolError } from './errors.js'
import { PEERSITE_POINTER, decodePointerMessage, encodePointerMessage } from './extensions/peersite_pointer.js'
import type { PointerBook, PointerDecision } from './pointer/book.js'
import type { PointerRecord, VerifiedPointer } from './pointer/index.js'
import type { PointerError } from './errors.js'

/** What the exchange needs of a peer (wire/peer.ts's Peer has it). */
export interface PointerPeer {
  readonly extended: { readonly m: Readonly<Record<string, number>> } | undefined
  writeExtension: (name: string, payload: Uint8Array) => boolean
  destroy: () => void
}

export interface PointerExchangeContext<P extends PointerPeer> {
  readonly book: PointerBook
  /** A peer misbehaved; the exchange already dropped it when it had to. */
  warn: (peer: P, err: Error) => void
  /** A newer record was verified (from `peer`, or from `publish()` when undefined). */
  onNewer?: (record: VerifiedPointer, peer: P | undefined) => void
  /** A peer sent a valid record that is the newest we believe (newer, or the same as ours): someone agrees. */
  onHeard?: (record: VerifiedPointer, peer: P) => void
  /** A record was refused as a rollback or a fork (invalid records go to `warn`). */
  onRefused?: (error: PointerError, peer: P) => void
}

interface PeerState {
  /** The seq we last sent it, so a record goes to each peer once. */
  sentSeq: number
  /** The highest seq it sent us. */
  heardSeq: number
  /** The seq of the fork whose proof we sent it. */
  sentFork: number
  busy: boolean
  /** The latest message that came while `busy`: checked next (an earlier one it replaced is ignored). */
  waiting: Uint8Array | undefined
  received: number
}

export class PointerExchange<P extends PointerPeer> {
  readonly #ctx: PointerExchangeContext<P>
  readonly #peers = new Map<P, PeerState>()
  /** The seq of the last fork reported, so that many peers repeating it make one report. */
  #forkReported = -1

  constructor (ctx: PointerExchangeContext<P>) {
    this.#ctx = ctx
  }

  /** After the peer's BEP 10 handshake: if it speaks the extension, remember it and send what we believe. */
  onExtendedHandshake (peer: P): void {
    if (peer.extended?.m[PEERSITE_POINTER] === undefined) return
    if (!this.#peers.has(peer)) this.#peers.set(peer, { sentSeq: -1, heardSeq: -1, sentFork: -1, busy: false, waiting: undefined, received: 0 })
    this.#sendCurrent(peer)
  }

  onPeerClose (peer: P): void {
    this.#peers.delete(peer)
  }

  /** The publisher's own new record (or one learnt elsewhere: the DHT, peersite.json): offered like any. */
  async publish (record: PointerRecord): Promise<PointerDecision> {
    const decision = await this.#ctx.book.offer(record)
    if (decision.kind === 'newer') this.#onNewer(decision.record, undefined)
    return decision
  }

  /** A `peersite_pointer` message from `peer` (the payload after the extended id). Never throws. */
  async onMessage (peer: P, payload: Uint8Array): Promise<void> {
    const state = this.#peers.get(peer)
    // A message under our id from a peer whose handshake did not name the extension still counts: BEP 10 ids are
    // ours to assign, so it did read our handshake. Track it like the others.
    const s = state ?? { sentSeq: -1, heardSeq: -1, sentFork: -1, busy: false, waiting: undefined, received: 0 }
    if (state === undefined) this.#peers.set(peer, s)
    // One record in flight per peer. What comes meanwhile is not dropped: the latest waits and is checked next. A
    // peer that learnt a newer record while we checked the one it sent on connecting sends the newer one once (it
    // then believes we have it): ignoring it lost that record on this link for good.
    if (s.busy) {
      s.waiting = payload
      return
    }
    s.busy = true
    try {
      for (let next: Uint8Array | undefined = payload; next !== undefined; next = s.waiting) {
        s.waiting = undefined
        if (!await this.#receive(peer, s, next)) return
      }
    } finally {
      s.busy = false
      s.waiting = undefined
    }
  }

  /** One record from `peer`; false once the peer is dropped or over its count (what it sent meanwhile is ignored). */
  async #receive (peer: P, s: PeerState, payload: Uint8Array): Promise<boolean> {
    if (s.received >= POINTER_MAX_RECORDS_PER_PEER) return false
    s.received++
    let record: PointerRecord
    try {
      record = decodePointerMessage(payload)
    } catch (err) {
      this.#drop(peer, err as Error)
      return false
    }
    const decision = await this.#ctx.book.offer(record)
    // A peer that closed while its record was verified still counts: the book has already judged the record (a newer
    // one is now current), so the rest must happen too: the callbacks (the visitor fetches the new version, or is told
    // of a refusal) and the other peers told. Returning here lost a newer record for good: every later copy of it is
    // `same` to the book, and nobody would hear of it again. Only what goes to this peer is skipped (#sendCurrent
    // finds no state for a closed peer).
    s.heardSeq = Math.max(s.heardSeq, record.seq)
    if (decision.kind === 'newer') {
      s.sentSeq = Math.max(s.sentSeq, decision.record.seq) // it has it: no need to echo it back
      this.#onNewer(decision.record, peer)
      this.#ctx.onHeard?.(decision.record, peer)
      return true
    }
    if (decision.kind === 'same') {
      s.sentSeq = Math.max(s.sentSeq, decision.record.seq)
      this.#ctx.onHeard?.(decision.record, peer)
      return true
    }
    const error = decision.error
    if (error.reason === 'invalid') {
      this.#drop(peer, error)
      return false
    }
    if (error.reason === 'rollback') {
      this.#sendCurrent(peer)
    } else {
      if (this.#forkReported === record.seq) return true
      this.#forkReported = record.seq
      this.broadcast() // the proof, to every peer (see #sendCurrent)
    }
    this.#ctx.onRefused?.(error, peer)
    return true
  }

  /**
   * Sends the book's current record to every peer that does not have it yet. For a book shared by several swarms:
   * when one exchange learns a newer record, the others call this to pass it on to their own peers.
   */
  broadcast (): void {
    for (const peer of this.#peers.keys()) this.#sendCurrent(peer)
  }

  #onNewer (record: VerifiedPointer, from: P | undefined): void {
    this.#ctx.onNewer?.(record, from)
    for (const peer of this.#peers.keys()) if (peer !== from) this.#sendCurrent(peer)
  }

  #sendCurrent (peer: P): void {
    const s = this.#peers.get(peer)
    if (s === undefined) return
    const current = this.#ctx.book.current
    if (current !== undefined) {
      // Not to a peer that already has it or told us of something at least as new.
      if (s.sentSeq >= current.seq || s.heardSeq >= current.seq) return
      if (peer.writeExtension(PEERSITE_POINTER, encodePointerMessage(current))) s.sentSeq = current.seq
      return
    }
    // Forked: both records, so that the peer refuses the fork too rather than believing the half it heard first
    // (even a peer that sent us one of them: it needs the other).
    const evidence = this.#ctx.book.evidence
    if (evidence === undefined || evidence.length === 0) return
    const seq = evidence[0]!.seq
    if (s.sentFork >= seq || s.heardSeq > seq) return
    let sent = true
    for (const record of evidence) sent = peer.writeExtension(PEERSITE_POINTER, encodePointerMessage(record)) && sent
    if (sent) s.sentFork = seq
  }

  #drop (peer: P, err: Error): void {
    this.#peers.delete(peer)
    this.#ctx.warn(peer, err instanceof ProtocolError ? err : new ProtocolError(err.message, { cause: err }))
    peer.destroy()
  }
}

/**
 * One site's book shared by several swarms (the pointer swarm and each version's swarm): `exchange()` makes one
 * PointerExchange per swarm, and whatever record one of them learns (or a fork it proves) the others pass on to
 * their own peers. The callbacks fire once per record, whichever swarm it came through.
 */
export class PointerHub<P extends PointerPeer> {
  readonly book: PointerBook
  readonly #ctx: PointerExchangeContext<P>
  readonly #exchanges = new Set<PointerExchange<P>>()

  constructor (ctx: PointerExchangeContext<P>) {
    this.book = ctx.book
    this.#ctx = ctx
  }

  /** A new exchange on the hub's book, for one more swarm (pass it as TorrentInit.pointer). */
  exchange (): PointerExchange<P> {
    const exchange: PointerExchange<P> = new PointerExchange<P>({
      ...this.#ctx,
      onNewer: (record, peer) => {
        this.#ctx.onNewer?.(record, peer)
        for (const other of this.#exchanges) if (other !== exchange) other.broadcast()
      },
      onRefused: (error, peer) => {
        this.#ctx.onRefused?.(error, peer)
        if (error.reason === 'fork') for (const other of this.#exchanges) if (other !== exchange) other.broadcast()
      }
    })
    this.#exchanges.add(exchange)
    return exchange
  }

  /** Stops passing records to a swarm that was left. */
  remove (exchange: PointerExchange<P>): void {
    this.#exchanges.delete(exchange)
  }

  /** A record from outside the swarms (the publisher's own, peersite.json's, the DHT's): offered, and passed on by every swarm if newer. */
  async publish (record: PointerRecord): Promise<PointerDecision> {
    const decision = await this.book.offer(record)
    if (decision.kind === 'newer') {
      this.#ctx.onNewer?.(decision.record, undefined)
      for (const exchange of this.#exchanges) exchange.broadcast()
    }
    return decision
  }
}
