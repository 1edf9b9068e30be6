/**
 * BEP 9 glue: fetches the info dictionary from peers when we start from an infohash alone, and serves it to
 * peers that ask. The message formats and the assembly/verification live in extensions/ut_metadata.ts.
 *
 * Peers can lie. A peer announces a `metadata_size` in its extended handshake and then sends the pieces; only the
 * SHA-1 of the whole assembled dictionary tells whether it was the truth. So:
 * - each size offered is a separate candidate with its own assembler, fetched in parallel: a wrong size announced
 *   first never keeps us from the right one (METADATA_CANDIDATE_BUDGET bounds the memory a swarm of liars can claim);
 * - metadata that fails the infohash check bans its sender when one peer sent it all; when several peers
 *   contributed, the candidate is fetched again from one peer at a time, so the next failure names the liar and an
 *   honest peer that happened to share its size is never blamed;
 * - a peer that leaves requests unanswered (METADATA_MAX_TIMEOUTS) is no longer asked, so a silent liar holds
 *   nothing up.
 * Nothing here loops on a liar: every failed verification removes at least one peer from the exchange, or follows
 * the removal of one (the peer asked alone left or timed out, and the next one finished the attempt).
 */
import { METADATA_CANDIDATE_BUDGET, METADATA_MAX_FLOOD_REJECTS, METADATA_MAX_TIMEOUTS, METADATA_REQUEST_TIMEOUT_MS, SEND_HIGH_WATER_MARK } from './constants.js'
import { ProtocolError } from './errors.js'
import {
  decodeMetadataMessage,
  encodeMetadataData,
  encodeMetadataReject,
  encodeMetadataRequest,
  MetadataAssembler,
  metadataPiece
} from './extensions/ut_metadata.js'
import type { Peer } from './wire/peer.js'

export interface MetadataExchangeContext {
  readonly infoHash: Uint8Array
  /** The info dictionary, once we have it. */
  info (): Uint8Array | undefined
  /** Called once with verified info dictionary bytes (their SHA-1 is the infohash). */
  onMetadata (info: Uint8Array): void
  warn (peer: Peer, err: Error): void
  /** The peer sent metadata that failed the infohash check, or flooded us with requests: drop it and refuse it later (Torrent's ban). */
  ban (peer: Peer, reason: Error): void
}

/** One metadata size offered by one or more peers, assembled on its own. */
interface Candidate {
  readonly size: number
  readonly assembler: MetadataAssembler
  /** Peers that offered this size, in arrival order. */
  readonly peers: Set<Peer>
  /** Who sent each received piece: after a failed check, whom to blame. */
  readonly sources: Map<number, Peer>
  /** After a failed check with several senders: only the first peer of `peers` is asked, so a failure names it. */
  solo: boolean
  verifying: boolean
}

interface PendingRequest {
  readonly candidate: Candidate
  readonly piece: number
  readonly timer: ReturnType<typeof setTimeout>
}

export class MetadataExchange {
  readonly #ctx: MetadataExchangeContext
  readonly #candidates = new Map<number, Candidate>()
  /** Every peer offering metadata, with the size it offered (also those waiting for a candidate slot). */
  readonly #offers = new Map<Peer, number>()
  readonly #requests = new Map<Peer, PendingRequest>()
  readonly #timeouts = new Map<Peer, number>()
  /** Requests rejected per peer because its connection was full (a WeakMap: serving peers are never forgotten here). */
  readonly #floods = new WeakMap<Peer, number>()
  #done = false

  constructor (ctx: MetadataExchangeContext) {
    this.#ctx = ctx
  }

  /** After the peer's BEP 10 handshake: if it offers metadata we lack, start asking it. */
  onExtendedHandshake (peer: Peer): void {
    if (this.#done || this.#ctx.info() !== undefined) return
    const size = peer.extended?.metadataSize
    if (size === undefined || peer.extended?.m.ut_metadata === undefined) return
    // BEP 10 allows a later handshake; a peer offers one size at a time.
    if (this.#offers.get(peer) === size) return
    this.#forget(peer)
    try {
      MetadataAssembler.checkSize(size)
    } catch (err) {
      this.#ctx.warn(peer, err as Error)
      return
    }
    this.#offers.set(peer, size)
    this.#admit(peer)
  }

  onMessage (peer: Peer, payload: Uint8Array): void {
    let msg
    try {
      msg = decodeMetadataMessage(payload)
    } catch (err) {
      this.#ctx.warn(peer, err as Error)
      peer.destroy()
      return
    }
    // BEP 9: "an unrecognized message ID MUST be ignored".
    if (msg.msgType === 'unknown') return
    if (msg.msgType === 'request') {
      const info = this.#ctx.info()
      const data = info === undefined ? undefined : metadataPiece(info, msg.piece)
      // Answers wait in the connection's buffer (Node's TCP buffers without limit): past the uploader's high-water
      // mark, a request is rejected (the answer would cost a 16 KiB piece; a reject costs as much as the request),
      // and counted, whatever it asks for: rejects too pile up behind a peer that does not read.
      if (peer.connection.bufferedAmount >= SEND_HIGH_WATER_MARK) {
        const floods = (this.#floods.get(peer) ?? 0) + 1
        this.#floods.set(peer, floods)
        if (floods === 1) this.#ctx.warn(peer, new ProtocolError('asks for metadata faster than it reads it'))
        if (floods > METADATA_MAX_FLOOD_REJECTS) {
          this.#ctx.ban(peer, new ProtocolError(`asked for metadata ${floods} times with its connection full`))
          return
        }
        peer.writeExtension('ut_metadata', encodeMetadataReject(msg.piece))
      } else if (info === undefined || data === undefined) peer.writeExtension('ut_metadata', encodeMetadataReject(msg.piece))
      else peer.writeExtension('ut_metadata', encodeMetadataData(msg.piece, info.length, data))
      return
    }
    // Data or reject: only an answer to our outstanding request counts; anything else is ignored.
    const pending = this.#requests.get(peer)
    if (pending === undefined || pending.piece !== msg.piece) return
    clearTimeout(pending.timer)
    this.#requests.delete(peer)
    const candidate = pending.candidate
    if (this.#candidates.get(candidate.size) !== candidate) return // finished or dropped meanwhile
    if (msg.msgType === 'reject') {
      candidate.assembler.releaseRequested(msg.piece)
      this.#forget(peer) // BEP 9: it does not have that piece; it will not have the others either
      return
    }
    // An answer that was asked before the candidate went solo, from a peer that is no longer the one asked.
    if (candidate.solo && this.#soloPeer(candidate) !== peer) {
      candidate.assembler.releaseRequested(msg.piece)
      this.#fill(candidate)
      return
    }
    try {
      if (candidate.assembler.add(msg.piece, msg.data ?? new Uint8Array(0))) candidate.sources.set(msg.piece, peer)
    } catch (err) {
      this.#ctx.warn(peer, err as Error)
      candidate.assembler.releaseRequested(msg.piece)
      this.#forget(peer)
      peer.destroy()
      return
    }
    this.#timeouts.delete(peer)
    if (candidate.assembler.complete) void this.#verify(candidate)
    else this.#requestNext(candidate, peer)
  }

  removePeer (peer: Peer): void {
    this.#forget(peer)
  }

  destroy (): void {
    this.#clear()
  }

  /** Puts an offering peer into the candidate for its size, making the candidate if a slot is free. */
  #admit (peer: Peer): void {
    const size = this.#offers.get(peer)
    if (size === undefined || peer.destroyed) return
    let candidate = this.#candidates.get(size)
    if (candidate === undefined) {
      let held = 0
      for (const c of this.#candidates.values()) held += c.size
      if (held + size > METADATA_CANDIDATE_BUDGET) return // waits in #offers until a candidate is done with
      candidate = {
        size,
        assembler: new MetadataAssembler({ infoHash: this.#ctx.infoHash, size }),
        peers: new Set(),
        sources: new Map(),
        solo: false,
        verifying: false
      }
      this.#candidates.set(size, candidate)
    }
    candidate.peers.add(peer)
    this.#fill(candidate)
  }

  /** Takes a peer out of the exchange: its request (if any) is released and its candidate goes on without it. */
  #forget (peer: Peer): void {
    const size = this.#offers.get(peer)
    this.#offers.delete(peer)
    this.#timeouts.delete(peer)
    const pending = this.#requests.get(peer)
    if (pending !== undefined) {
      clearTimeout(pending.timer)
      this.#requests.delete(peer)
      if (this.#candidates.get(pending.candidate.size) === pending.candidate) pending.candidate.assembler.releaseRequested(pending.piece)
    }
    const candidate = size === undefined ? undefined : this.#candidates.get(size)
    if (candidate === undefined || !candidate.peers.delete(peer)) return
    if (candidate.peers.size === 0 && !candidate.verifying) {
      this.#candidates.delete(candidate.size)
      this.#admitWaiting()
    } else {
      this.#fill(candidate)
    }
  }

  /** Peers that offered a size for which there was no free candidate slot. */
  #admitWaiting (): void {
    for (const [peer, size] of this.#offers) {
      const candidate = this.#candidates.get(size)
      if (candidate?.peers.has(peer) !== true) this.#admit(peer)
    }
  }

  #soloPeer (candidate: Candidate): Peer | undefined {
    return candidate.peers.values().next().value
  }

  #fill (candidate: Candidate): void {
    if (candidate.verifying || this.#done) return
    if (candidate.solo) {
      const peer = this.#soloPeer(candidate)
      if (peer !== undefined) this.#requestNext(candidate, peer)
      return
    }
    for (const peer of candidate.peers) this.#requestNext(candidate, peer)
  }

  #requestNext (candidate: Candidate, peer: Peer): void {
    const assembler = candidate.assembler
    if (this.#requests.has(peer) || peer.destroyed || candidate.verifying) return
    const piece = assembler.nextMissing()
    if (piece === undefined) return
    assembler.markRequested(piece)
    const timer = setTimeout(() => this.#onTimeout(peer), METADATA_REQUEST_TIMEOUT_MS)
    this.#requests.set(peer, { candidate, piece, timer })
    if (!peer.writeExtension('ut_metadata', encodeMetadataRequest(piece))) {
      clearTimeout(timer)
      this.#requests.delete(peer)
      assembler.releaseRequested(piece)
    }
  }

  #onTimeout (peer: Peer): void {
    const pending = this.#requests.get(peer)
    if (pending === undefined) return
    this.#requests.delete(peer)
    const candidate = pending.candidate
    if (this.#candidates.get(candidate.size) !== candidate) return
    candidate.assembler.releaseRequested(pending.piece)
    const strikes = (this.#timeouts.get(peer) ?? 0) + 1
    this.#timeouts.set(peer, strikes)
    if (strikes >= METADATA_MAX_TIMEOUTS) {
      this.#ctx.warn(peer, new ProtocolError(`left ${strikes} metadata requests unanswered`))
      this.#forget(peer)
    } else {
      this.#fill(candidate)
    }
  }

  async #verify (candidate: Candidate): Promise<void> {
    if (candidate.verifying) return
    candidate.verifying = true
    const info = await candidate.assembler.verify()
    candidate.verifying = false
    if (this.#done || this.#candidates.get(candidate.size) !== candidate) return
    if (info !== undefined) {
      this.#clear()
      this.#done = true
      this.#ctx.onMetadata(info)
      return
    }
    const senders = new Set(candidate.sources.values())
    candidate.sources.clear()
    if (senders.size === 1) {
      // One peer sent every piece: it lied (a wrong size, or garbage of the right size). (Solo, several senders
      // mean the peer asked changed on the way, when the one before left or timed out: either could have lied, and
      // the next attempt comes from the one peer asked now alone.)
      for (const peer of senders) {
        this.#forget(peer)
        this.#ctx.ban(peer, new ProtocolError(`sent ${candidate.size} bytes of metadata that do not match the infohash`))
      }
    } else {
      // Several senders, and any of them could be the liar: ask one at a time from now on.
      candidate.solo = true
      for (const [peer, pending] of this.#requests) {
        if (pending.candidate === candidate) this.#cancel(peer, pending)
      }
    }
    if (this.#candidates.get(candidate.size) === candidate) {
      if (candidate.peers.size === 0) {
        this.#candidates.delete(candidate.size)
        this.#admitWaiting()
      } else {
        this.#fill(candidate)
      }
    }
  }

  /** Forgets an outstanding request without blaming its peer (its answer, if it comes, is ignored). */
  #cancel (peer: Peer, pending: PendingRequest): void {
    clearTimeout(pending.timer)
    this.#requests.delete(peer)
    pending.candidate.assembler.releaseRequested(pending.piece)
  }

  #clear (): void {
    for (const { timer } of this.#requests.values()) clearTimeout(timer)
    this.#requests.clear()
    this.#candidates.clear()
    this.#offers.clear()
    this.#timeouts.clear()
  }
}
