/**
 * Getting pieces: asks each unchoked peer for blocks the picker chooses, assembles them, verifies every piece
 * against its SHA-1 from the info dictionary before it is stored or passed on. It reports to the peer policy what
 * each peer did (blocks delivered, requests timed out) and acts on its answers (snubbed peers keep one request);
 * smart ban names the peers whose blocks made a piece fail, and the torrent decides what that costs them.
 */
import {
  ENDGAME_DUPLICATE_AFTER_MS, MAX_OUTSTANDING_REQUESTS, READ_PRIORITY_NOW, REQUEST_TIMEOUT_MS, RUSH_KEEP_REQUESTS, UNPROVEN_PEER_REQUESTS,
  readAheadPieces, unstoredPieces
} from './constants.js'
import { HashMismatchError } from './errors.js'
import { pieceHash, pieceLengthAt, type Metainfo } from './metainfo/index.js'
import { PiecePicker, type BlockRequest } from './picker/index.js'
import type { PieceStore } from './storage/index.js'
import { equalBytes, sha1 } from './util/bytes.js'
import type { Peer } from './wire/peer.js'
import type { Bitfield } from './bitfield.js'
import type { PeerPolicy } from './peer-policy.js'
import type { SmartBan } from './smart-ban.js'

/** Defined true for a plain site's loader (no web seeds: engine/torrent.ts), false in other browser builds, undefined elsewhere. */
declare const PEERSITE_PLAIN: boolean | undefined
/** Defined true in the browser builds (scripts/browser-bundles.mjs): Node-only branches drop out. */
declare const PEERSITE_BROWSER: boolean | undefined

interface Outstanding extends BlockRequest { sentAt: number }

export interface DownloaderContext {
  readonly metainfo: Metainfo
  readonly store: PieceStore
  /** A piece was verified and stored. */
  onVerified (index: number): void
  /**
   * A piece was verified and is on its way into the store: readers may take it now from readable(), without
   * waiting for the store (IndexedDB commits lag by hundreds of ms while a download runs at full speed).
   */
  onReadable (index: number): void
  /**
   * Tell peers we have piece `index` (BEP 3 `have`): as soon as it is verified, while the store is still writing it
   * (the uploader serves it from readable() meanwhile), or once stored while the store is refusing pieces. Once per
   * keep of a piece.
   */
  onAnnounce (index: number): void
  onDownloaded (peer: Peer, bytes: number): void
  /** The peer with this key (connected or not) is proven to have sent bad data for a piece. */
  badData (peerKey: string, reason: Error): void
  warn (err: Error): void
  peerByKey (key: string): Peer | undefined
  /** The platform's own SHA-1 for pieces (TorrentComponents.sha1, Node only); else WebCrypto's. */
  readonly sha1?: (data: Uint8Array) => Uint8Array
  /** The per-peer records: told what each peer delivered; says who is snubbed. */
  readonly peerPolicy: PeerPolicy
  /**
   * Smart ban's records (engine/smart-ban.ts), asked for at the first piece that fails its hash check with blocks from
   * several peers: a visitor's loader brings its code then (it is part of the serving side's, Torrent.serve).
   */
  smartBan (): Promise<SmartBan>
}

export class Downloader {
  readonly picker: PiecePicker
  readonly #ctx: DownloaderContext
  readonly #outstanding = new Map<Peer, Map<string, Outstanding>>()
  /** Blocks of pieces being assembled, and which peer (key) sent each block. */
  readonly #buffers = new Map<number, { data: Uint8Array, sources: Array<string | undefined> }>()
  /** Smart ban, from the first failed piece with several senders on (DownloaderContext.smartBan). */
  #smartBan: Promise<SmartBan> | undefined
  /** Verified pieces whose store.put has not settled yet. */
  readonly #storing = new Map<number, Uint8Array>()
  /** Pieces of #storing announced already (onAnnounce), before the store took them. */
  readonly #announcedEarly = new Set<number>()
  /**
   * The store refused the last piece it settled (quota, the visit's budget): announce pieces only once stored, so
   * that peers are not told of pieces that will not be kept. Cleared by the next piece it takes.
   */
  #refusing = false
  /**
   * Stored pieces that a reader's window covered when they were verified, kept a little longer (one read-ahead
   * window and a piece at most): the reader usually comes for them shortly after, and reading a piece back from
   * IndexedDB costs the page and the browser a copy and a deserialization each.
   */
  readonly #recent: PiecesInMemory
  /**
   * Verified pieces the store refused (its quota is full, or the loader's budget for the visit is spent) that a
   * reader's window covered, kept for that reader, and those we had announced already (peers were told: they may
   * ask us for them), at most unstoredPieces() in all. The picker holds them (no new requests while they are here).
   * They are not `have`; the uploader serves those it is asked for (readable()) while they are here, and ignores
   * requests for them once they are dropped (BEP 3 has no way to take a `have` back; the requester's request times
   * out and it asks another peer).
   */
  readonly #held: PiecesInMemory

  constructor (ctx: DownloaderContext, have?: Bitfield) {
    this.#ctx = ctx
    const { pieceCount, pieceLength, length, tailPadding } = ctx.metainfo
    this.picker = new PiecePicker({ pieceCount, pieceLength, length, endgameDelayMs: ENDGAME_DUPLICATE_AFTER_MS, urgentPriority: READ_PRIORITY_NOW, ...(tailPadding !== undefined ? { tailPadding } : {}) })
    this.#recent = new PiecesInMemory(readAheadPieces(pieceLength) + 1)
    this.#held = new PiecesInMemory(unstoredPieces(pieceLength), (old) => this.picker.setHeld(old, false))
    if (have !== undefined) for (let i = 0; i < pieceCount; i++) if (have.has(i)) this.picker.markHave(i)
  }

  /** Pieces verified and stored. */
  get have (): Bitfield { return this.picker.have }

  /** What a new peer's `bitfield` says: the stored pieces and those announced on their way into the store. */
  announced (): Bitfield {
    if (this.#announcedEarly.size === 0) return this.have
    const bits = this.have.clone()
    for (const index of this.#announcedEarly) bits.set(index)
    return bits
  }

  /**
   * A verified piece in memory: on its way into the store (see onReadable), stored a moment ago for a reader
   * (#recent), or refused by the store and held for a reader (#held); undefined otherwise (then read it from the
   * store if it is `have`, else wait for it). Not to be modified.
   */
  readable (index: number): Uint8Array | undefined {
    return this.#storing.get(index) ?? this.#recent.get(index) ?? this.#held.get(index)
  }

  addPeer (peer: Peer): void {
    if (peer.has !== undefined) this.picker.addPeer(peer.key, peer.has)
    this.picker.setUnproven(peer.key, (this.#ctx.peerPolicy.get(peer.key)?.bytesDelivered ?? 0) === 0)
    this.#outstanding.set(peer, new Map())
    this.updateInterest(peer)
  }

  peerHave (peer: Peer, index: number): void {
    this.picker.peerHave(peer.key, index)
    // A refill may walk every piece, and a hostile peer has a `have` for each: none for a piece that no pick would
    // take, unless it may make the peer interesting (the torrent's tick refills every second anyway).
    if (this.picker.mayPick(index) || (!peer.amInterested && !this.have.has(index))) this.updateInterest(peer)
  }

  removePeer (peer: Peer): void {
    this.picker.removePeer(peer.key)
    this.#outstanding.delete(peer)
  }

  /**
   * BEP 3: interested when the peer has something we lack. Before its bitfield (or without one: it has nothing yet)
   * a peer may have anything: we are interested as soon as the handshakes are exchanged (addPeer, right after our
   * own bitfield in Torrent's handshake handler), so that its unchoke can come as it reads our bitfield, not one more
   * round trip later.
   */
  updateInterest (peer: Peer): void {
    if (peer.destroyed) return
    const interesting = peer.has === undefined ? !this.have.complete : this.picker.isInteresting(peer.has)
    if (interesting) {
      peer.writeInterested()
      this.fill(peer)
    } else {
      peer.writeNotInterested()
    }
  }

  /** BEP 3: a choke discards every pending request; give them back to the picker. */
  onChoke (peer: Peer): void {
    const pending = this.#outstanding.get(peer)
    if (pending === undefined) return
    for (const req of pending.values()) this.picker.releaseRequest(peer.key, req)
    pending.clear()
    this.#ctx.peerPolicy.idle(peer.key)
  }

  /** The one glue function between picker and peer: keep the peer's request pipeline full. */
  fill (peer: Peer, urgent = false): void {
    const pending = this.#outstanding.get(peer)
    if (pending === undefined || peer.destroyed || peer.peerChoking || !peer.amInterested || peer.has === undefined) return
    // A snubbed peer (engine/peer-policy.ts) keeps one request at a time until it delivers again; one that has not
    // delivered a block yet gets a few (slow start), so peers that accept requests and never answer hold few blocks.
    const record = this.#ctx.peerPolicy.get(peer.key)
    const limit = record?.snubbed === true
      ? 1
      : Math.min(record?.bytesDelivered === 0 ? UNPROVEN_PEER_REQUESTS : MAX_OUTSTANDING_REQUESTS, peer.extended?.reqq ?? MAX_OUTSTANDING_REQUESTS)
    const want = limit - pending.size
    // Refill in batches rather than one request per received block: each data-channel send has a fixed cost
    // (measured: ~0.15 ms in node-datachannel whatever the size), so many small sends cap throughput.
    if (want <= 0 || (!urgent && pending.size > 0 && want < limit / 4)) return
    const now = Date.now()
    const batch = this.picker.pick(peer.key, peer.has, want)
    for (const req of batch) {
      pending.set(`${req.index}:${req.begin}`, { index: req.index, begin: req.begin, length: req.length, sentAt: now })
    }
    if (batch.length > 0) {
      peer.writeRequests(batch)
      this.#ctx.peerPolicy.requested(peer.key, now)
    }
  }

  /**
   * A reader waits for piece `index` and nobody has been asked for it: a seek. Without this its requests would
   * queue behind a full pipeline of background requests (MAX_OUTSTANDING_REQUESTS blocks: 2 MiB, 100 ms at 20 MB/s,
   * far more on a slow link). So each peer that has the piece cancels our queued requests for pieces of lower
   * priority (the background, and the read-ahead of readers: the reader that just moved away usually has not been
   * cancelled yet), but for the oldest RUSH_KEEP_REQUESTS (on the wire already), and is asked for the reader's
   * pieces at once. Cancelled blocks that arrive anyway are dropped like any unrequested block, and asked for
   * again later.
   */
  rush (index: number, peers: Iterable<Peer>): void {
    if (this.have.has(index) || this.readable(index) !== undefined || this.picker.isStarted(index)) return
    const urgency = this.picker.priorityOf(index)
    for (const peer of this.#byDelivered(peers)) {
      const pending = this.#outstanding.get(peer)
      if (pending === undefined || peer.destroyed || peer.peerChoking || peer.has?.has(index) !== true) continue
      let kept = 0
      this.#withdraw(peer, pending, (req) => kept++ < RUSH_KEEP_REQUESTS || this.picker.priorityOf(req.index) >= urgency, false)
      this.fill(peer, true)
    }
  }

  /** Cancels the peer's requests that `keep` does not keep (in the order sent), giving them back to the picker. */
  #withdraw (peer: Peer, pending: Map<string, Outstanding>, keep: (req: Outstanding) => boolean, timedOut: boolean): number {
    const cancels: BlockRequest[] = []
    for (const [key, req] of pending) {
      if (keep(req)) continue
      pending.delete(key)
      this.picker.releaseRequest(peer.key, req, timedOut)
      cancels.push(req)
    }
    peer.writeCancels(cancels)
    return cancels.length
  }

  /**
   * Fills every peer's pipeline, the peers that delivered most first: fresh blocks go to proven peers before peers
   * that never delivered (or were snubbed) take the rest.
   */
  fillAll (peers: Iterable<Peer>, urgent = false): void {
    for (const peer of this.#byDelivered(peers)) this.fill(peer, urgent)
  }

  #byDelivered (peers: Iterable<Peer>): Peer[] {
    const policy = this.#ctx.peerPolicy
    const score = (p: Peer): number => {
      const r = policy.get(p.key)
      return r === undefined ? -1 : r.snubbed ? -1 : r.bytesDelivered
    }
    return [...peers].sort((a, b) => score(b) - score(a))
  }

  onBlock (peer: Peer, index: number, begin: number, block: Uint8Array): void {
    const pending = this.#outstanding.get(peer)
    const key = `${index}:${begin}`
    const req = pending?.get(key)
    if (pending === undefined || req === undefined || req.length !== block.length) return // unrequested or cancelled: ignore
    pending.delete(key)
    const { status, cancel } = this.picker.blockReceived(peer.key, index, begin, block.length)
    for (const other of cancel) {
      const otherPeer = this.#ctx.peerByKey(other)
      if (otherPeer === undefined) continue
      this.#outstanding.get(otherPeer)?.delete(key)
      otherPeer.writeCancels([{ index, begin, length: block.length }])
    }
    if (status === 'new') {
      this.#ctx.onDownloaded(peer, block.length)
      if (this.#ctx.peerPolicy.delivered(peer.key, block.length, Date.now(), pending.size)) this.picker.setSnubbed(peer.key, false)
      this.picker.setUnproven(peer.key, false)
      let entry = this.#buffers.get(index)
      if (entry === undefined) {
        // Zero-filled: a padded piece's tail (BEP 47) is never requested and hashes as zeros.
        entry = { data: new Uint8Array(pieceLengthAt(this.#ctx.metainfo, index)), sources: [] }
        this.#buffers.set(index, entry)
      }
      entry.data.set(block, begin)
      entry.sources[begin / this.picker.blockLength] = peer.key
      if (this.picker.isPieceComplete(index)) void this.#verify(index)
    } else if (pending.size === 0) {
      this.#ctx.peerPolicy.idle(peer.key)
    }
    this.fill(peer)
  }

  async #verify (index: number): Promise<void> {
    const entry = this.#buffers.get(index)
    if (entry === undefined) return
    this.#buffers.delete(index)
    // Node's hash runs here, in onBlock's turn; what follows still waits for the next microtask, as with WebCrypto's.
    const digest = await (typeof PEERSITE_BROWSER === 'undefined' && this.#ctx.sha1 !== undefined ? this.#ctx.sha1(entry.data) : sha1(entry.data))
    const blockLength = this.picker.blockLength
    if (!equalBytes(digest, pieceHash(this.#ctx.metainfo, index))) {
      this.picker.pieceFailed(index)
      // The next attempt comes from one peer alone: a second failure then names its sender.
      this.picker.setExclusive(index)
      const err = new HashMismatchError(index)
      this.#ctx.warn(err)
      // One sender is proof at once, with no code to wait for. Several: smart ban remembers each one's blocks, to
      // compare them with the piece once it verifies (and if its code cannot load, the exclusive retry above still
      // names the sender of a second bad copy).
      const senders = new Set(entry.sources.filter((source): source is string => source !== undefined))
      const culprits = senders.size > 1 ? await this.#smartBanFailed(index, entry, blockLength) : senders
      for (const culprit of culprits) this.#ctx.badData(culprit, err)
      return
    }
    void this.#smartBan?.then(async (smartBan) => await smartBan.pieceVerified(index, entry.data, blockLength)).then((culprits) => {
      for (const culprit of culprits) this.#ctx.badData(culprit, new HashMismatchError(index))
    }, () => {})
    await this.#keep(index, entry.data)
  }

  /** The senders smart ban proves bad for a failed piece of several senders' blocks; none if its code cannot load. */
  async #smartBanFailed (index: number, entry: { data: Uint8Array, sources: Array<string | undefined> }, blockLength: number): Promise<string[]> {
    const smartBan = this.#smartBan ??= this.#ctx.smartBan()
    smartBan.catch(() => { if (this.#smartBan === smartBan) this.#smartBan = undefined })
    return await smartBan.then(async (ban) => await ban.pieceFailed(index, entry.data, { sources: entry.sources, blockLength }), () => [])
  }

  /**
   * A whole piece from elsewhere (a web seed, BEP 19), verified like any: false if its SHA-1 does not match (nothing
   * is kept), true if it matches or the piece is here already. Blocks of it still on their way from peers are
   * dropped as duplicates.
   */
  async offerPiece (index: number, data: Uint8Array, onKept?: () => void): Promise<boolean> {
    // A plain site's loader has no web seeds (Torrent's PEERSITE_PLAIN): nothing calls this there.
    if (typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) return false
    if (this.have.has(index) || this.readable(index) !== undefined) return true
    if (!equalBytes(await sha1(data), pieceHash(this.#ctx.metainfo, index))) return false
    if (this.have.has(index) || this.readable(index) !== undefined) return true
    this.#buffers.delete(index)
    onKept?.()
    await this.#keep(index, data)
    return true
  }

  /**
   * A verified piece: readable and announced at once (a peer that asks for it meanwhile is served from memory), then
   * stored. Announced only once stored while the store is refusing pieces; held in memory if the store refuses it
   * and a reader wants it or peers were told of it.
   */
  async #keep (index: number, data: Uint8Array): Promise<void> {
    // Two copies can pass the hash at once (a web seed's and the peers'): the first is kept.
    if (this.#storing.has(index) || this.have.has(index)) return
    this.#storing.set(index, data)
    this.#ctx.onReadable(index)
    // Before, `have` waited for the store: for IndexedDB, hundreds of ms to seconds on a loaded machine, during which
    // the publisher's seeder (engine/spread.ts) took a visitor trading pieces for a starved one, and other visitors
    // could not ask it for the piece.
    const early = !this.#refusing
    if (early) {
      this.#announcedEarly.add(index)
      this.#ctx.onAnnounce(index)
    }
    try {
      await this.#ctx.store.put(index, data)
    } catch (err) {
      // The store refused a good piece (quota, a broken disk or database, the visit's storage budget: see
      // storage/overflow.ts). Fetching it again in the background would fail the same way, forever: the piece stops
      // being wanted, so only a reader that asks for it fetches it again. A reader waiting for it still gets it, and
      // so do peers we told of it, while it stays in memory.
      this.#refusing = true
      this.picker.pieceFailed(index)
      this.picker.setWanted(index, index, false)
      this.#ctx.warn(err as Error)
      if (early || this.picker.priorityOf(index) > 0) {
        this.#held.add(index, data)
        this.picker.setHeld(index, true)
      }
      return
    } finally {
      this.#storing.delete(index)
      this.#announcedEarly.delete(index)
    }
    this.#refusing = false
    if (this.picker.priorityOf(index) > 0) this.#recent.add(index, data)
    this.picker.markHave(index)
    if (!early) this.#ctx.onAnnounce(index)
    this.#ctx.onVerified(index)
  }

  /**
   * Once a second: requests unanswered for REQUEST_TIMEOUT_MS go back to the picker (never to be asked of that peer
   * again), and peers the policy snubs (requests out, nothing delivered for a while) give back all their requests
   * but the oldest, which may be on the wire already (and may be asked of them again later). The blocks go to other
   * peers at once (picker.setSnubbed).
   */
  tick (peers: Iterable<Peer>, now = Date.now()): void {
    const policy = this.#ctx.peerPolicy
    for (const peer of peers) {
      const pending = this.#outstanding.get(peer)
      if (pending === undefined) continue
      let expired = 0
      for (const [key, req] of pending) {
        if (now - req.sentAt < REQUEST_TIMEOUT_MS) continue
        pending.delete(key)
        this.picker.releaseRequest(peer.key, req, true)
        expired++
      }
      if (expired > 0) this.fill(peer)
    }
    const snubbed = new Set(policy.snubDue(now, (key) => {
      const peer = this.#ctx.peerByKey(key)
      return peer === undefined ? 0 : this.outstandingCount(peer)
    }))
    if (snubbed.size === 0) return
    for (const key of snubbed) {
      const peer = this.#ctx.peerByKey(key)
      const pending = peer === undefined ? undefined : this.#outstanding.get(peer)
      if (peer === undefined || pending === undefined) continue
      this.picker.setSnubbed(key, true)
      let kept = 0
      // Not excluded from it for good (as a timed-out request is): a publisher's seeder holds back requests that
      // other peers can serve (engine/spread.ts), and a visitor whose other peers then lack those pieces would wait
      // forever; a snubbed peer gets one request at a time anyway (picker.setSnubbed).
      this.#withdraw(peer, pending, () => kept++ < 1, false)
      this.#ctx.warn(new Error(`peer ${key}: snubbed`))
    }
    this.fillAll([...peers].filter((p) => !snubbed.has(p.key)), true)
  }

  outstandingCount (peer: Peer): number {
    return this.#outstanding.get(peer)?.size ?? 0
  }
}

/** Whole verified pieces kept in memory, at most `limit` of them: adding one beyond drops the oldest (`onDrop`). */
class PiecesInMemory {
  readonly #pieces = new Map<number, Uint8Array>()
  readonly #limit: number
  readonly #onDrop: ((index: number) => void) | undefined

  constructor (limit: number, onDrop?: (index: number) => void) {
    this.#limit = limit
    this.#onDrop = onDrop
  }

  get (index: number): Uint8Array | undefined {
    return this.#pieces.get(index)
  }

  /** Adds piece `index` as the newest (again, if it was here already). */
  add (index: number, data: Uint8Array): void {
    this.#pieces.delete(index)
    this.#pieces.set(index, data)
    for (const old of this.#pieces.keys()) {
      if (this.#pieces.size <= this.#limit) break
      this.#pieces.delete(old)
      this.#onDrop?.(old)
    }
  }
}
