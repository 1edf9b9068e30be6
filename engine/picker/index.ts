/**
 * The piece picker: which block to request next from which peer. Pure data, modelled on libtorrent's
 * `piece_picker`: bitfields and availability counts go in, block requests come out; it never touches a socket, so
 * it is tested with string fixtures and glued to peers by one small function in torrent.ts.
 *
 * State is kept per piece in typed arrays. Per-block state exists only for the few pieces that are in progress
 * ("partial" pieces: some block requested or received), so memory stays small for ~100k pieces and most operations
 * cost O(blocks of one piece), not O(pieces).
 *
 * Rarest first: engine/picker/rarest.ts (availability counts and one availability-ordered array, libtorrent's trick),
 * from the start in every build. (Bringing it with the serving side at Torrent.serve, the background taking pieces in
 * index order from a random start until then, saved 256 B of peersite.js but made swagger-ui's cold visit slower in
 * bench/real-sites.mjs, 2026-12-03: reverted.)
 */
import { Bitfield } from '../bitfield.js'
import { BLOCK_LENGTH, CHECK_ARGS } from '../constants.js'
import { RarestOrder } from './rarest.js'

export interface BlockRequest { index: number, begin: number, length: number }

export type PickedRequest = BlockRequest & { duplicate?: boolean }

export interface PiecePickerInit {
  pieceCount: number
  pieceLength: number
  /** Total bytes of the torrent. */
  length: number
  /** BEP 3: "All current implementations use 2^14 (16 kiB)". */
  blockLength?: number
  /**
   * Seeds the random tie-break between equally rare pieces, so tests are reproducible. By default the order is
   * random per process: peers of the same swarm then start on different pieces, which keeps rare pieces spreading.
   */
  seed?: number
  /**
   * BEP 3 "End Game": once every missing block is requested, request the remaining ones from other peers too
   * (cancelling the spare copies when one arrives). At most this many requests per block. Default 2; 1 disables.
   */
  maxRequestsPerBlock?: number
  /**
   * End game asks a second peer for a block only once the first has held it this long (ms). With a small site the
   * whole download is end game, and duplicating at once doubles the traffic: both copies usually arrive before the
   * cancel. Default 0 (at once).
   */
  endgameDelayMs?: number
  /** See setUnproven. Default: endgameDelayMs. */
  unprovenTakeoverMs?: number
  /**
   * BEP 47 padding: piece index -> zeros at its end, which are never requested ("clients ... should also avoid
   * requesting byte-ranges covering their contents"); the downloader fills them in. Default: none.
   */
  tailPadding?: ReadonlyMap<number, number>
  /**
   * Blocks of pieces at this priority or above (a reader waits for them now) are also asked of a second peer at once,
   * without the end-game delay: the first peer asked may be slow to answer, or hold the request back on purpose (the
   * publisher's seeder waits while another visitor can serve the piece: engine/spread.ts), and a page is waiting.
   * The spare copy is cancelled when the first arrives. Default: Infinity (off).
   */
  urgentPriority?: number
}

export type BlockStatus = 'new' | 'duplicate' | 'unexpected'

/** Block states inside a partial piece. */
const MISSING = 0
const REQUESTED = 1
const RECEIVED = 2

/** A piece with some block requested or received. Dropped again when it has neither (or becomes verified). */
interface PartialPiece {
  /** One of MISSING / REQUESTED / RECEIVED per block. */
  readonly state: Uint8Array
  /** The peers a block is outstanding at; only for REQUESTED blocks (at most maxRequestsPerBlock entries). */
  readonly owners: Array<string[] | undefined>
  /** When each block was first requested (ms), for the end-game delay. */
  readonly requestedAt: Float64Array
  /** Blocks in state MISSING. */
  missing: number
  received: number
  /**
   * Per block: peers that held a request for it and let it time out (or were snubbed). The block is never asked of
   * them again, not even as an end-game duplicate, until the piece is verified or dropped.
   */
  readonly timedOut: Array<string[] | undefined>
}

interface PeerState {
  /** What the peer announced. Undefined for a peer we only requested from (never added, e.g. a test). */
  has: Bitfield | undefined
  /** Counted in RarestOrder.seedCount instead of per piece (a complete bitfield at addPeer: the common case, a seeder). */
  seed: boolean
  /** Outstanding requests, keyed by global block id (index * blocksPerPiece + block). */
  readonly requests: Map<number, BlockRequest>
}

interface PriorityRange { first: number, last: number, priority: number }

/**
 * The ranges of one priority, overlapping ones merged into groups (sorted by first piece). Groups are served
 * round-robin, each in index order: two readers with equal windows (two videos on a page) take turns piece by
 * piece, while overlapping ranges (two reads of one file) behave as one sequential range.
 */
interface PriorityLevel { priority: number, groups: Array<{ first: number, last: number }> }

export class PiecePicker {
  readonly pieceCount: number
  readonly pieceLength: number
  readonly length: number
  readonly blockLength: number
  /** Blocks in a full piece; the last piece may have fewer. */
  readonly blocksPerPiece: number
  /** Verified pieces. Mutate only through markHave/pieceFailed. */
  readonly have: Bitfield

  readonly #maxRequestsPerBlock: number
  readonly #endgameDelayMs: number
  readonly #unprovenTakeoverMs: number
  readonly #urgentPriority: number
  /** Rarest first's counts and order. */
  readonly #rank: RarestOrder
  readonly #partial = new Map<number, PartialPiece>()
  readonly #peers = new Map<string, PeerState>()
  #priorities: PriorityRange[] = []
  /** Priority levels (highest first), each a list of disjoint piece groups; rebuilt lazily when ranges change. */
  #levels: PriorityLevel[] | undefined
  /** Rotates which group of a level is served first, one step per pick (fairness between readers). */
  #turn = 0
  readonly #tailPadding: ReadonlyMap<number, number>

  constructor (init: PiecePickerInit) {
    const { pieceCount, pieceLength, length } = init
    const blockLength = init.blockLength ?? BLOCK_LENGTH
    if (CHECK_ARGS && (!Number.isSafeInteger(pieceCount) || pieceCount < 0)) throw new RangeError(`invalid piece count ${pieceCount}`)
    if (CHECK_ARGS && (!Number.isSafeInteger(pieceLength) || pieceLength <= 0)) throw new RangeError(`invalid piece length ${pieceLength}`)
    if (CHECK_ARGS && (!Number.isSafeInteger(blockLength) || blockLength <= 0)) throw new RangeError(`invalid block length ${blockLength}`)
    if (CHECK_ARGS && (!Number.isSafeInteger(length) || length < 0 || Math.ceil(length / pieceLength) !== pieceCount)) {
      throw new RangeError(`length ${length} does not make ${pieceCount} pieces of ${pieceLength} bytes`)
    }
    this.pieceCount = pieceCount
    this.pieceLength = pieceLength
    this.length = length
    this.blockLength = blockLength
    this.blocksPerPiece = Math.ceil(pieceLength / blockLength)
    this.#tailPadding = init.tailPadding ?? new Map()
    this.have = new Bitfield(pieceCount)
    this.#maxRequestsPerBlock = Math.max(1, init.maxRequestsPerBlock ?? 2)
    this.#endgameDelayMs = Math.max(0, init.endgameDelayMs ?? 0)
    this.#unprovenTakeoverMs = Math.max(0, init.unprovenTakeoverMs ?? this.#endgameDelayMs)
    this.#urgentPriority = init.urgentPriority ?? Infinity
    this.#rank = new RarestOrder(pieceCount, init.seed ?? Math.floor(Math.random() * 0x100000000))
  }

  // ---- sizes ----------------------------------------------------------------------------------------------------

  /** Bytes in piece `index` (the last piece may be shorter). */
  pieceSize (index: number): number {
    return index === this.pieceCount - 1 ? this.length - this.pieceLength * (this.pieceCount - 1) : this.pieceLength
  }

  /** Bytes of piece `index` that are requested: all but its BEP 47 padding. */
  dataSize (index: number): number {
    return this.pieceSize(index) - (this.#tailPadding.get(index) ?? 0)
  }

  /** Blocks in piece `index` (padding excluded). */
  blockCount (index: number): number {
    return index === this.pieceCount - 1 || this.#tailPadding.has(index) ? Math.ceil(this.dataSize(index) / this.blockLength) : this.blocksPerPiece
  }

  /** Bytes in block `block` of piece `index` (the last block before padding or the torrent's end may be shorter). */
  blockSize (index: number, block: number): number {
    return Math.min(this.blockLength, this.dataSize(index) - block * this.blockLength)
  }

  // ---- our pieces -----------------------------------------------------------------------------------------------

  get done (): boolean { return this.have.complete }

  markHave (index: number): void {
    if (CHECK_ARGS) checkIndex(index, this.pieceCount)
    this.have.set(index)
    this.#exclusive.delete(index)
    // Any request still out for it is pointless now; forget it so the peer's slots free up.
    this.#dropPiece(index)
  }

  pieceFailed (index: number): void {
    if (CHECK_ARGS) checkIndex(index, this.pieceCount)
    this.have.set(index, false)
    this.#dropPiece(index)
  }

  /**
   * Piece `index` failed its hash check with blocks from several peers: its next attempt comes from one peer alone
   * (libtorrent's "parole"), so a second failure names the culprit and a success shows whose blocks were bad
   * (smart ban). The first peer that picks a block of it gets the whole piece; the others skip it while that peer
   * holds a request of it and is not snubbed (one that choked us holds none, and would never be snubbed: the piece
   * would wait for it as long as it stayed connected). No end-game duplicates for it. Cleared by markHave.
   */
  setExclusive (index: number): void {
    if (CHECK_ARGS) checkIndex(index, this.pieceCount)
    if (!this.have.has(index)) this.#exclusive.set(index, '')
  }

  /** Piece -> the one peer its current attempt comes from ('' while nobody has picked it yet). */
  readonly #exclusive = new Map<number, string>()

  /** Whether the peer an exclusive piece belongs to is delivering it: a request of it out there, and not snubbed. */
  #sourceActive (peerKey: string, p: PartialPiece | undefined): boolean {
    return !this.#snubbed.has(peerKey) && p?.owners.some((o) => o?.includes(peerKey)) === true
  }

  // ---- snubbed peers --------------------------------------------------------------------------------------------

  /**
   * Peers that delivered nothing for a while (engine/peer-policy.ts decides). Blocks requested only from snubbed
   * peers are open to everyone else at once, as if nobody had been asked (no end-game delay), and a snubbed peer
   * never holds an exclusive piece.
   */
  readonly #snubbed = new Set<string>()
  /**
   * Peers that have not delivered a block yet. A block requested only from such peers (or snubbed ones) at least
   * `unprovenTakeoverMs` ago is open to any peer not snubbed (one more owner each time): a swarm of peers that
   * accept requests and never answer cannot hold the blocks while a working peer waits for them to be snubbed one
   * after the other. The first copy to arrive wins and the other owners get a cancel, as in end game.
   */
  readonly #unproven = new Set<string>()

  setSnubbed (peerKey: string, snubbed: boolean): void {
    if (snubbed) this.#snubbed.add(peerKey)
    else this.#snubbed.delete(peerKey)
  }

  setUnproven (peerKey: string, unproven: boolean): void {
    if (unproven) this.#unproven.add(peerKey)
    else this.#unproven.delete(peerKey)
  }

  /** Whether `peerKey` may take over a block whose only owners are `owners`, first requested at `requestedAt`. */
  #canTakeOver (peerKey: string, owners: string[] | undefined, requestedAt: number, now: number): boolean {
    if (owners === undefined || owners.includes(peerKey)) return false
    const aged = now - requestedAt >= this.#unprovenTakeoverMs
    return owners.every((o) => this.#snubbed.has(o) || (aged && this.#unproven.has(o)))
  }

  /** All blocks received (the piece can be assembled and hashed). */
  isPieceComplete (index: number): boolean {
    const p = this.#partial.get(index)
    return p !== undefined && p.received === p.state.length
  }

  /** Whether some block of piece `index` has been requested or received (and the piece is not verified yet). */
  isStarted (index: number): boolean {
    return this.#partial.has(index)
  }

  /** Whether a pick may choose piece `index` now (cheap: what pick's steps can take, held pieces included). */
  mayPick (index: number): boolean {
    return !this.have.has(index) && (this.#unwanted?.[index] !== 1 || this.#partial.has(index) || this.priorityOf(index) > 0)
  }

  // ---- peers ----------------------------------------------------------------------------------------------------

  addPeer (peerKey: string, has: Bitfield): void {
    if (has.length !== this.pieceCount) throw new RangeError(`bitfield has ${has.length} pieces, expected ${this.pieceCount}`)
    const peer = this.#peer(peerKey)
    this.#forgetAvailability(peer)
    // Own copy: the caller's bitfield may change without telling us, and counts must stay consistent.
    peer.has = has.clone()
    if (has.complete) {
      peer.seed = true
      this.#rank.seedCount++
    } else {
      this.#rank.addPieces(peer.has, 1)
    }
  }

  peerHave (peerKey: string, index: number): void {
    if (CHECK_ARGS) checkIndex(index, this.pieceCount)
    const peer = this.#peer(peerKey)
    // BEP 3 lets a peer with nothing skip the bitfield message, so `have` may be the first thing we hear.
    peer.has ??= new Bitfield(this.pieceCount)
    if (peer.seed || peer.has.has(index)) return
    peer.has.set(index)
    this.#rank.incrementPiece(index)
  }

  removePeer (peerKey: string): BlockRequest[] {
    const peer = this.#peers.get(peerKey)
    if (peer === undefined) return []
    this.#forgetAvailability(peer)
    const released = [...peer.requests.values()]
    for (const req of released) this.releaseRequest(peerKey, req)
    this.#peers.delete(peerKey)
    this.#snubbed.delete(peerKey)
    this.#unproven.delete(peerKey)
    return released
  }

  /** How many connected peers have piece `index`. */
  availability (index: number): number {
    return this.#rank.availability(index)
  }

  isInteresting (has: Bitfield): boolean {
    const mine = this.have.bytes
    const theirs = has.bytes
    const n = Math.min(mine.length, theirs.length)
    for (let i = 0; i < n; i++) if ((theirs[i]! & ~mine[i]!) !== 0) return true
    return false
  }

  // ---- priorities -----------------------------------------------------------------------------------------------

  /**
   * Pieces `first`..`last` come before everything else (higher `priority` first), in index order within a range;
   * ranges of equal priority take turns (round-robin, piece by piece). Returns the release function (idempotent);
   * a released range stops counting at once, for the next pick.
   */
  addPriority (first: number, last: number, priority = 1): () => void {
    if (CHECK_ARGS && (!Number.isInteger(first) || !Number.isInteger(last) || first > last)) throw new RangeError(`invalid piece range ${first}-${last}`)
    if (CHECK_ARGS && !Number.isFinite(priority)) throw new RangeError(`invalid priority ${priority}`)
    const range: PriorityRange = {
      first: Math.max(0, first),
      last: Math.min(this.pieceCount - 1, last),
      priority
    }
    this.#priorities.push(range)
    this.#levels = undefined
    let released = false
    return () => {
      if (released) return
      released = true
      this.#priorities = this.#priorities.filter((r) => r !== range)
      this.#levels = undefined
    }
  }

  /** The highest priority of a range covering piece `index`; 0 when none does. */
  priorityOf (index: number): number {
    if (CHECK_ARGS) checkIndex(index, this.pieceCount)
    let best: number | undefined
    for (const r of this.#priorities) if (index >= r.first && index <= r.last && (best === undefined || r.priority > best)) best = r.priority
    return best ?? 0
  }

  // ---- wanted ---------------------------------------------------------------------------------------------------

  /**
   * Pieces not wanted (1 per piece), or undefined while every piece is wanted (the default: a seeder, `get`).
   * Rarest-first background picking (step 3 of `pick`) skips them; a reader's priority range still fetches them,
   * so an unwanted piece is downloaded on demand only (the loader's prefetch limit keeps big media that way).
   */
  #unwanted: Uint8Array | undefined

  /** Marks pieces `first`..`last` (clamped to the torrent) wanted or not wanted in the background. */
  setWanted (first: number, last: number, wanted: boolean): void {
    if (CHECK_ARGS && (!Number.isInteger(first) || !Number.isInteger(last))) throw new RangeError(`invalid piece range ${first}-${last}`)
    const from = Math.max(0, first)
    const to = Math.min(this.pieceCount - 1, last)
    if (from > to) return
    if (wanted && this.#unwanted === undefined) return
    this.#unwanted ??= new Uint8Array(this.pieceCount)
    this.#unwanted.fill(wanted ? 0 : 1, from, to + 1)
  }

  // ---- held -----------------------------------------------------------------------------------------------------

  /**
   * Pieces verified but not stored (the store refused them) that the torrent keeps in memory a while for its
   * readers: not `have` (never announced, never uploaded), yet not requested again while held.
   */
  readonly #held = new Set<number>()

  setHeld (index: number, held: boolean): void {
    if (CHECK_ARGS) checkIndex(index, this.pieceCount)
    if (held) {
      this.#held.add(index)
      this.#dropPiece(index)
    } else {
      this.#held.delete(index)
    }
  }

  // ---- requests -------------------------------------------------------------------------------------------------

  pick (peerKey: string, has: Bitfield, max: number, now = Date.now()): PickedRequest[] {
    const out: PickedRequest[] = []
    if (max <= 0 || this.have.complete) return out
    const peer = this.#peer(peerKey)

    // 1. Pieces a reader waits for, by priority, then sequentially (a stream plays in order); readers of equal
    //    priority take turns.
    this.#turn++
    this.#visitPriorityPieces(has, out, (index) => this.#pickFresh(peerKey, peer, index, out, max, now))
    if (out.length >= max) return out
    //    Urgent ones that another peer was asked for already: ask this one too, at once (see urgentPriority).
    if (this.#maxRequestsPerBlock > 1 && this.#urgentPriority !== Infinity) {
      this.#visitPriorityPieces(has, out, (index) => this.#pickDuplicate(peerKey, peer, index, out, max, now, true), this.#urgentPriority)
      if (out.length >= max) return out
    }

    // 2. Pieces already started: finishing them makes them verifiable and shareable sooner (and frees memory).
    for (const index of this.#partial.keys()) {
      if (!has.has(index)) continue
      if (this.#pickFresh(peerKey, peer, index, out, max, now)) return out
    }

    // 3. Untouched pieces, rarest first (BEP 3 "Rarest First"), ties in random order.
    for (const index of this.#rarest(has, max - out.length)) {
      if (this.#pickFresh(peerKey, peer, index, out, max, now)) return out
    }

    // 4. End game: every block this peer could give us is already out elsewhere; ask it too, so a slow peer does
    //    not hold the last pieces hostage. Readers' pieces first.
    if (this.#maxRequestsPerBlock > 1) {
      this.#visitPriorityPieces(has, out, (index) => this.#pickDuplicate(peerKey, peer, index, out, max, now))
      if (out.length >= max) return out
      for (const index of this.#partial.keys()) {
        if (!has.has(index)) continue
        if (this.#pickDuplicate(peerKey, peer, index, out, max, now)) return out
      }
    }
    return out
  }

  blockReceived (peerKey: string, index: number, begin: number, length: number): { status: BlockStatus, cancel: string[] } {
    const unexpected = { status: 'unexpected' as const, cancel: [] }
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount) return unexpected
    if (!Number.isInteger(begin) || begin < 0 || begin % this.blockLength !== 0) return unexpected
    const block = begin / this.blockLength
    if (block >= this.blockCount(index) || length !== this.blockSize(index, block)) return unexpected

    const peer = this.#peers.get(peerKey)
    const id = index * this.blocksPerPiece + block
    const askedThisPeer = peer?.requests.delete(id) ?? false
    const p = this.#partial.get(index)
    if (p !== undefined && askedThisPeer) removeOwner(p, block, peerKey)

    if (this.have.has(index) || p?.state[block] === RECEIVED) return { status: 'duplicate', cancel: [] }
    if (p === undefined || !askedThisPeer) return unexpected

    // First copy: everyone else still asked for it gets a cancel (BEP 3: "cancel messages are sent for
    // redundant block requests" in end game) and the request is forgotten here.
    const cancel = p.owners[block] ?? []
    for (const other of cancel) this.#peers.get(other)?.requests.delete(id)
    p.owners[block] = undefined
    p.state[block] = RECEIVED
    p.received++
    return { status: 'new', cancel }
  }

  /**
   * Gives a request back (choke, cancel, timeout). With `timedOut`, the peer let it time out: this block is never
   * asked of it again (libtorrent does the same after a request timeout), while the piece is in progress.
   */
  releaseRequest (peerKey: string, req: BlockRequest, timedOut = false): void {
    const peer = this.#peers.get(peerKey)
    if (peer === undefined) return
    if (!Number.isInteger(req.index) || req.index < 0 || req.index >= this.pieceCount || req.begin % this.blockLength !== 0) return
    const block = req.begin / this.blockLength
    const id = req.index * this.blocksPerPiece + block
    if (!peer.requests.delete(id)) return
    const p = this.#partial.get(req.index)
    if (p === undefined) return
    removeOwner(p, block, peerKey)
    if (timedOut) (p.timedOut[block] ??= []).push(peerKey)
    if (p.state[block] === REQUESTED && p.owners[block] === undefined) {
      p.state[block] = MISSING
      p.missing++
    }
    // A piece with nothing requested or received is untouched again: back to rarest-first (unless some peer timed
    // out on it: that exclusion must be remembered).
    if (p.received === 0 && p.missing === p.state.length && !p.timedOut.some((t) => t !== undefined) && !this.#exclusive.has(req.index)) {
      this.#partial.delete(req.index)
    }
  }

  // ---- internals ------------------------------------------------------------------------------------------------

  /**
   * The engine's own callers' piece indices (API misuse: CHECK_ARGS). A peer's `have` is checked before it gets here
   * (Torrent: a protocol violation), as is every index a peer sends with a block (blockReceived).
   */
  #peer (peerKey: string): PeerState {
    let peer = this.#peers.get(peerKey)
    if (peer === undefined) {
      peer = { has: undefined, seed: false, requests: new Map() }
      this.#peers.set(peerKey, peer)
    }
    return peer
  }

  #forgetAvailability (peer: PeerState): void {
    if (peer.seed) this.#rank.seedCount--
    else if (peer.has !== undefined) this.#rank.addPieces(peer.has, -1)
    peer.seed = false
    peer.has = undefined
  }

  /** Forgets a piece's block state and every request still out for it. */
  #dropPiece (index: number): void {
    const p = this.#partial.get(index)
    if (p === undefined) return
    for (let block = 0; block < p.owners.length; block++) {
      for (const key of p.owners[block] ?? []) this.#peers.get(key)?.requests.delete(index * this.blocksPerPiece + block)
    }
    this.#partial.delete(index)
  }

  #priorityLevels (): PriorityLevel[] {
    if (this.#levels !== undefined) return this.#levels
    const sorted = [...this.#priorities].sort((a, b) => b.priority - a.priority || a.first - b.first)
    const levels: PriorityLevel[] = []
    for (const r of sorted) {
      let level = levels[levels.length - 1]
      if (level === undefined || level.priority !== r.priority) {
        level = { priority: r.priority, groups: [] }
        levels.push(level)
      }
      const last = level.groups[level.groups.length - 1]
      if (last !== undefined && r.first <= last.last) last.last = Math.max(last.last, r.last)
      else level.groups.push({ first: r.first, last: r.last })
    }
    this.#levels = levels
    return levels
  }

  /**
   * Visits the pieces of the priority ranges that this peer has and we lack: level by level (highest first); within
   * a level its groups take turns, one piece that yielded a request per turn (a piece whose blocks are all out
   * already does not use up a turn), starting with a different group on each pick. Stops when `visit` says `out`
   * is full.
   */
  #visitPriorityPieces (has: Bitfield, out: PickedRequest[], visit: (index: number) => boolean, minPriority = -Infinity): void {
    if (this.#priorities.length === 0) return
    for (const { priority, groups } of this.#priorityLevels()) {
      if (priority < minPriority) return
      const n = groups.length
      const start = this.#turn % n
      const cursors = groups.map((g) => g.first)
      let live = n
      while (live > 0) {
        live = 0
        for (let k = 0; k < n; k++) {
          const g = (start + k) % n
          const group = groups[g]!
          let i = cursors[g]!
          const before = out.length
          for (; i <= group.last; i++) {
            if (this.have.has(i) || !has.has(i) || this.#held.has(i)) continue
            if (visit(i)) return
            if (out.length > before) {
              i++
              break
            }
          }
          cursors[g] = i
          if (i <= group.last) live++
        }
      }
    }
  }

  /**
   * Up to `want` untouched pieces this peer has and we lack, rarest first. Walks the availability-sorted order and stops as soon as it has enough, so the usual cost is a
   * handful of steps; O(pieces) only when the peer has little we need.
   */
  #rarest (has: Bitfield, want: number): number[] {
    const picked: number[] = []
    for (let k = 0; k < this.pieceCount && picked.length < want; k++) {
      const index = this.#rank.pieceOrder[k]!
      if (!has.has(index) || this.have.has(index) || this.#partial.has(index) || this.#unwanted?.[index] === 1 || this.#held.has(index)) continue
      picked.push(index)
    }
    return picked
  }

  #partialOf (index: number): PartialPiece {
    let p = this.#partial.get(index)
    if (p === undefined) {
      const blocks = this.blockCount(index)
      p = { state: new Uint8Array(blocks), owners: new Array<string[] | undefined>(blocks), requestedAt: new Float64Array(blocks), missing: blocks, received: 0, timedOut: new Array<string[] | undefined>(blocks) }
      this.#partial.set(index, p)
    }
    return p
  }

  /** Requests this piece's missing blocks from the peer. Returns true when `out` is full. */
  #pickFresh (peerKey: string, peer: PeerState, index: number, out: PickedRequest[], max: number, now: number): boolean {
    const existing = this.#partial.get(index)
    // Blocks out only at snubbed peers (or, for a peer that has delivered, at peers that never did) count as missing.
    const takeOver = (this.#snubbed.size > 0 || this.#unproven.size > 0) && !this.#snubbed.has(peerKey)
    if (existing !== undefined && existing.missing === 0 && !takeOver) return out.length >= max
    const exclusive = this.#exclusive.get(index)
    if (exclusive !== undefined && exclusive !== peerKey) {
      if (this.#sourceActive(exclusive, existing) || this.#snubbed.has(peerKey)) return out.length >= max
      this.#exclusive.set(index, peerKey)
    }
    const p = existing ?? this.#partialOf(index)
    for (let block = 0; block < p.state.length && out.length < max; block++) {
      if (p.timedOut[block]?.includes(peerKey) === true) continue
      if (p.state[block] === REQUESTED && takeOver && this.#canTakeOver(peerKey, p.owners[block], p.requestedAt[block]!, now)) {
        // requestedAt stays the first request's time: how long the block has been waiting.
        p.owners[block]!.push(peerKey)
        const req = { index, begin: block * this.blockLength, length: this.blockSize(index, block) }
        peer.requests.set(index * this.blocksPerPiece + block, req)
        out.push(req)
        continue
      }
      if (p.state[block] !== MISSING) continue
      p.state[block] = REQUESTED
      p.missing--
      p.owners[block] = [peerKey]
      p.requestedAt[block] = now
      const req = { index, begin: block * this.blockLength, length: this.blockSize(index, block) }
      peer.requests.set(index * this.blocksPerPiece + block, req)
      out.push(req)
    }
    return out.length >= max
  }

  /**
   * End game: asks this peer for blocks already out at other peers (`urgent`: without waiting endgameDelayMs).
   * Returns true when `out` is full.
   */
  #pickDuplicate (peerKey: string, peer: PeerState, index: number, out: PickedRequest[], max: number, now: number, urgent = false): boolean {
    const p = this.#partial.get(index)
    if (p === undefined || this.#exclusive.has(index)) return false
    for (let block = 0; block < p.state.length && out.length < max; block++) {
      if (p.state[block] !== REQUESTED) continue
      const owners = p.owners[block]
      if (owners === undefined || owners.includes(peerKey) || p.timedOut[block]?.includes(peerKey) === true) continue
      // Snubbed owners do not count: a block they hold is waiting for nobody.
      let live = 0
      for (const o of owners) if (!this.#snubbed.has(o)) live++
      if (live >= this.#maxRequestsPerBlock) continue
      if (!urgent && now - p.requestedAt[block]! < this.#endgameDelayMs) continue
      owners.push(peerKey)
      const req = { index, begin: block * this.blockLength, length: this.blockSize(index, block) }
      peer.requests.set(index * this.blocksPerPiece + block, req)
      out.push({ ...req, duplicate: true })
    }
    return out.length >= max
  }
}

function removeOwner (p: PartialPiece, block: number, peerKey: string): void {
  const owners = p.owners[block]
  if (owners === undefined) return
  const at = owners.indexOf(peerKey)
  if (at < 0) return
  owners.splice(at, 1)
  if (owners.length === 0) p.owners[block] = undefined
}

/** A piece index of the engine's own callers (CHECK_ARGS: a function, not a method, so the browser builds drop it). */
function checkIndex (index: number, pieceCount: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= pieceCount) throw new RangeError(`piece index ${index} out of range`)
}
