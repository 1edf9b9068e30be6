/**
 * Upload slots: which interested peers we unchoke. Pure data like the picker: peers, interest and byte counts go
 * in, choke/unchoke decisions come out; torrent.ts applies them to the wire. Modelled on BEP 3's "Choking and
 * Optimistic Unchoking" and libtorrent's choker:
 *
 * - A fixed number of regular slots (UPLOAD_SLOTS). While downloading, they go to the interested peers that upload
 *   to us fastest (tit-for-tat: BEP 3 "unchoking the four peers which have the best upload rate and are
 *   interested"). While seeding nobody uploads to us, so slots go by upload rate to them, but a peer keeps its slot
 *   for at most SEED_TURN_MS while others wait, then goes behind them (round robin): one greedy, fast peer cannot
 *   starve the others.
 * - The ranking is recalculated every RECHOKE_INTERVAL_MS ("every ten seconds"), not on every byte, so that rates
 *   can ramp up and peers do not flap (BEP 3: "to avoid fibrillation").
 * - One extra optimistic slot, rotated every OPTIMISTIC_INTERVAL_MS ("every 30 seconds"), to a random interested
 *   peer outside the regular slots, newly connected peers three times as likely: it discovers better partners and
 *   gives a newcomer with nothing to offer its first pieces.
 * - A free slot is filled at once when a peer becomes interested (or a slot holder leaves or loses interest),
 *   rather than at the next recalculation: a visitor opening a page is served in milliseconds, not 10 s.
 * - With `newcomer` set (torrent.ts: newcomerTest), a newcomer that finds every slot taken gets a slot of its own
 *   at once, until it holds its first page: see ChokerInit.newcomer.
 *
 * Keys are opaque (torrent.ts uses Peer objects; the tests use letters). Time is passed in, so the tests need no
 * timers.
 */
import type { Bitfield } from './bitfield.js'
import {
  NEW_PEER_OPTIMISTIC_WEIGHT, OPTIMISTIC_INTERVAL_MS, OPTIMISTIC_UNCHOKE_SLOTS, RECHOKE_INTERVAL_MS, SEED_TURN_MS,
  UNPROVEN_PEER_REQUESTS, UPLOAD_SLOTS
} from './constants.js'
import type { Spread } from './spread.js'
import type { Peer } from './wire/peer.js'

export interface ChokerInit<K = unknown> {
  /** Regular upload slots. Default UPLOAD_SLOTS. */
  slots?: number
  /** Optimistic slots on top of the regular ones (0 or 1). Default OPTIMISTIC_UNCHOKE_SLOTS. */
  optimisticSlots?: number
  rechokeIntervalMs?: number
  optimisticIntervalMs?: number
  /** While seeding, how long a peer may hold a regular slot while others wait. */
  seedTurnMs?: number
  /** How much likelier a newly connected peer is to get the optimistic slot. */
  newPeerWeight?: number
  /**
   * While seeding, how long a newly interested peer that other peers can serve waits for a slot. Default 0 (off).
   * The publisher's seeder used it (1.5 s) to let visitors serve newcomers; it now offloads per piece instead
   * (engine/spread.ts: a newcomer is unchoked at once and gets at once what nobody else has), which measured better
   * on the wire (bench/offload.mjs) without delaying a first visitor's page.
   */
  seedDeferMs?: number
  /** A number in [0, 1); default Math.random. The tests pass a seeded one. */
  random?: () => number
  /**
   * Whether this peer is a newcomer asking for its first page (`uploaded`: payload bytes we sent it so far; see
   * newcomerTest). An interested newcomer that finds every slot taken is unchoked at once in a slot of its own
   * (beyond `slots` and the optimistic one), kept until it is a newcomer no more (tick()), then it waits for a
   * slot like anyone. Why: the peers that came first hold every slot until they have the whole site, at the
   * publisher and at each visitor (all of them want pieces from each other), and the optimistic slot turns every
   * 30 s; a newcomer waited for a finished visitor's slot, or for that turn (bench/offload.mjs, some 16-visitor
   * rounds: those arriving after the ninth painted their first page after 10-14 s, the first ones after 3-6 s). A newcomer asks
   * for a few pieces only (its first page), so each such slot costs a few pieces; at the publisher, only those no
   * other peer holds, or after a short hold (engine/spread.ts newcomerHoldMs).
   */
  newcomer?: (peer: K, uploaded: number) => boolean
}

/** Apply in order: `choke: true` means send `choke` (and drop the peer's queued requests, BEP 3). */
export interface ChokeDecision<K> { peer: K, choke: boolean }

type Slot = 'choked' | 'regular' | 'optimistic' | 'newcomer'

interface PeerState {
  interested: boolean
  slot: Slot
  connectedAt: number
  /** When it last got a slot (-Infinity: never). Waiting peers are served longest-waiting first. */
  unchokedAt: number
  /** A seeder gives this peer no slot before then (other peers can serve it: let them). */
  deferredUntil: number
  /** Bytes since the last recalculation. */
  uploadedBytes: number
  /** Bytes we sent it in all (ChokerInit.newcomer). */
  uploadedTotal: number
  downloadedBytes: number
  /** Bytes per second over the last recalculation period. */
  uploadRate: number
  downloadRate: number
}

/** Everything the choker knows about one peer, for logs and tests. */
export interface ChokerPeerInfo {
  interested: boolean
  slot: Slot
  uploadRate: number
  downloadRate: number
}

export class Choker<K> {
  readonly slots: number
  readonly optimisticSlots: number
  readonly #init: Required<Omit<ChokerInit<K>, 'slots' | 'optimisticSlots' | 'newcomer'>>
  readonly #newcomer: ((peer: K, uploaded: number) => boolean) | undefined
  readonly #peers = new Map<K, PeerState>()
  #seeding = false
  #lastRechoke: number | undefined
  #nextRechoke = -Infinity
  #nextOptimistic = -Infinity

  constructor (init: ChokerInit<K> = {}) {
    this.slots = Math.max(0, init.slots ?? UPLOAD_SLOTS)
    this.optimisticSlots = Math.max(0, Math.min(1, init.optimisticSlots ?? OPTIMISTIC_UNCHOKE_SLOTS))
    this.#init = {
      rechokeIntervalMs: init.rechokeIntervalMs ?? RECHOKE_INTERVAL_MS,
      optimisticIntervalMs: init.optimisticIntervalMs ?? OPTIMISTIC_INTERVAL_MS,
      seedTurnMs: init.seedTurnMs ?? SEED_TURN_MS,
      newPeerWeight: init.newPeerWeight ?? NEW_PEER_OPTIMISTIC_WEIGHT,
      seedDeferMs: init.seedDeferMs ?? 0,
      random: init.random ?? Math.random
    }
    this.#newcomer = init.newcomer
  }

  get seeding (): boolean { return this.#seeding }

  /** Seeding ranks by upload rate with round robin; downloading ranks by what each peer gives us. */
  setSeeding (seeding: boolean): void {
    this.#seeding = seeding
  }

  /** A peer finished its handshake. It starts choked (BEP 3: "Connections start out choked and not interested"). */
  add (peer: K, now: number): void {
    if (this.#peers.has(peer)) return
    this.#peers.set(peer, {
      interested: false,
      slot: 'choked',
      connectedAt: now,
      unchokedAt: -Infinity,
      deferredUntil: -Infinity,
      uploadedBytes: 0,
      uploadedTotal: 0,
      downloadedBytes: 0,
      uploadRate: 0,
      downloadRate: 0
    })
  }

  /** The peer is gone; its slot goes to a waiting peer at once. */
  remove (peer: K, now: number): Array<ChokeDecision<K>> {
    const state = this.#peers.get(peer)
    if (state === undefined) return []
    this.#peers.delete(peer)
    return state.slot === 'choked' ? [] : this.#fill(now)
  }

  /** Whether we currently let this peer download from us. */
  isUnchoked (peer: K): boolean {
    const slot = this.#peers.get(peer)?.slot
    return slot !== undefined && slot !== 'choked'
  }

  info (peer: K): ChokerPeerInfo | undefined {
    const s = this.#peers.get(peer)
    return s === undefined ? undefined : { interested: s.interested, slot: s.slot, uploadRate: s.uploadRate, downloadRate: s.downloadRate }
  }

  /**
   * An `interested` message: a free slot (regular, else the optimistic one) is given at once. Except while seeding
   * when `othersCanServe` (another of our peers has pieces this one lacks, see othersCanServe()): then the peer
   * waits up to `seedDeferMs`, so that it fetches from the other visitors first and the publisher's upload does not
   * grow with the audience; if it still wants pieces after that, it gets the next free slot.
   */
  interested (peer: K, now: number, othersCanServe = false): Array<ChokeDecision<K>> {
    const state = this.#peers.get(peer)
    if (state === undefined || state.interested) return []
    state.interested = true
    if (this.#seeding && othersCanServe && this.#init.seedDeferMs > 0) state.deferredUntil = now + this.#init.seedDeferMs
    const decisions = this.#fill(now)
    if (state.slot === 'choked' && this.#newcomer?.(peer, state.uploadedTotal) === true) {
      state.slot = 'newcomer'
      decisions.push({ peer, choke: false })
    }
    return decisions
  }

  /**
   * A `not-interested` message. The peer is choked (it wants nothing, and only interested peers hold slots), and its
   * slot goes to a waiting peer; when it is interested again it gets the next free slot.
   */
  notInterested (peer: K, now: number): Array<ChokeDecision<K>> {
    const state = this.#peers.get(peer)
    if (state === undefined || !state.interested) return []
    state.interested = false
    if (state.slot === 'choked') return []
    state.slot = 'choked'
    return [{ peer, choke: true }, ...this.#fill(now)]
  }

  /** Payload bytes we sent to the peer (feeds its upload rate). */
  uploaded (peer: K, bytes: number): void {
    const state = this.#peers.get(peer)
    if (state === undefined) return
    state.uploadedBytes += bytes
    state.uploadedTotal += bytes
  }

  /** Payload bytes the peer sent us (feeds its download rate). */
  downloaded (peer: K, bytes: number): void {
    const state = this.#peers.get(peer)
    if (state !== undefined) state.downloadedBytes += bytes
  }

  /**
   * Call often (torrent.ts: every second). Recalculates the slots when a period is due (RECHOKE_INTERVAL_MS;
   * OPTIMISTIC_INTERVAL_MS for the optimistic slot), settles newcomers' own slots (ChokerInit.newcomer), and returns
   * what changed.
   */
  tick (now: number): Array<ChokeDecision<K>> {
    const settled = this.#settle(now)
    if (now < this.#nextRechoke) {
      // A deferred peer whose wait is over takes a free slot now, not at the next recalculation.
      for (const s of this.#peers.values()) {
        if (s.interested && s.slot === 'choked' && s.deferredUntil !== -Infinity && s.deferredUntil <= now) return [...settled, ...this.#fill(now)]
      }
      return settled
    }
    return [...settled, ...this.rechoke(now)]
  }

  /** Recalculates every slot now (the tests call it directly; tick() calls it when it is due). */
  rechoke (now: number): Array<ChokeDecision<K>> {
    const elapsed = this.#lastRechoke === undefined ? this.#init.rechokeIntervalMs : Math.max(1, now - this.#lastRechoke)
    this.#lastRechoke = now
    this.#nextRechoke = now + this.#init.rechokeIntervalMs
    for (const s of this.#peers.values()) {
      s.uploadRate = s.uploadedBytes * 1000 / elapsed
      s.downloadRate = s.downloadedBytes * 1000 / elapsed
      s.uploadedBytes = 0
      s.downloadedBytes = 0
    }

    const regular = new Set(this.#ranked(now).slice(0, this.slots))
    let optimistic: K | undefined
    for (const [peer, s] of this.#peers) {
      if (s.slot === 'optimistic' && s.interested && !regular.has(peer)) optimistic = peer
    }
    if (this.optimisticSlots > 0 && (optimistic === undefined || now >= this.#nextOptimistic)) {
      optimistic = this.#drawOptimistic(now, regular, optimistic)
      this.#nextOptimistic = now + this.#init.optimisticIntervalMs
    } else if (this.optimisticSlots === 0) {
      optimistic = undefined
    }

    // Chokes first, so that applying the decisions in order never exceeds the slots.
    const chokes: Array<ChokeDecision<K>> = []
    const unchokes: Array<ChokeDecision<K>> = []
    for (const [peer, s] of this.#peers) {
      const slot: Slot = regular.has(peer) ? 'regular' : peer === optimistic ? 'optimistic' : s.slot === 'newcomer' ? 'newcomer' : 'choked'
      if (slot === 'regular' && s.slot === 'newcomer') s.unchokedAt = now
      if (slot !== 'choked' && s.slot === 'choked') {
        s.unchokedAt = now
        unchokes.push({ peer, choke: false })
      } else if (slot === 'choked' && s.slot !== 'choked') {
        chokes.push({ peer, choke: true })
      }
      s.slot = slot
    }
    return [...chokes, ...unchokes]
  }

  /**
   * Newcomers' own slots (ChokerInit.newcomer) whose holders are newcomers no more: each takes a free regular or
   * optimistic slot if there is one, else is choked and waits like anyone.
   */
  #settle (now: number): Array<ChokeDecision<K>> {
    const decisions: Array<ChokeDecision<K>> = []
    for (const [peer, s] of this.#peers) {
      if (s.slot !== 'newcomer' || this.#newcomer?.(peer, s.uploadedTotal) === true) continue
      s.slot = 'choked'
      const filled = this.#fill(now)
      if (s.slot === 'choked') decisions.push({ peer, choke: true })
      // Taking a slot again: it is unchoked already (no second unchoke on the wire).
      decisions.push(...filled.filter((d) => d.peer !== peer))
    }
    return decisions
  }

  /** Interested peers, best first, for the regular slots. */
  #ranked (now: number): K[] {
    const interested = [...this.#peers].filter(([, s]) => s.interested && (s.slot !== 'choked' || s.deferredUntil <= now))
    const waitedLongest = (a: PeerState, b: PeerState): number => a.unchokedAt - b.unchokedAt || a.connectedAt - b.connectedAt
    if (this.#seeding) {
      // Holders whose turn is not over, fastest first; then waiting peers, longest waiting first; then holders
      // whose turn is over (they keep their slot only if nobody else wants it).
      const turnOver = (s: PeerState): boolean => s.slot === 'regular' && now - s.unchokedAt >= this.#init.seedTurnMs
      const group = (s: PeerState): number => s.slot === 'regular' ? (turnOver(s) ? 2 : 0) : 1
      return interested.sort(([, a], [, b]) =>
        group(a) - group(b) || (group(a) === 1 ? waitedLongest(a, b) : b.uploadRate - a.uploadRate || waitedLongest(a, b))
      ).map(([peer]) => peer)
    }
    // Tit-for-tat: the peers that give us most; ties (often: nobody has anything for us yet) keep the current
    // holders, then the longest waiting.
    return interested.sort(([, a], [, b]) =>
      b.downloadRate - a.downloadRate || Number(b.slot === 'regular') - Number(a.slot === 'regular') || waitedLongest(a, b)
    ).map(([peer]) => peer)
  }

  /** A weighted draw among interested peers outside the regular slots, preferring not to keep `current`. */
  #drawOptimistic (now: number, regular: ReadonlySet<K>, current: K | undefined): K | undefined {
    const candidates: Array<{ peer: K, weight: number }> = []
    for (const [peer, s] of this.#peers) {
      if (!s.interested || regular.has(peer) || peer === current || s.deferredUntil > now) continue
      const isNew = now - s.connectedAt < this.#init.optimisticIntervalMs && s.unchokedAt === -Infinity
      candidates.push({ peer, weight: isNew ? this.#init.newPeerWeight : 1 })
    }
    if (candidates.length === 0) return current
    const total = candidates.reduce((sum, c) => sum + c.weight, 0)
    let r = this.#init.random() * total
    for (const c of candidates) {
      r -= c.weight
      if (r < 0) return c.peer
    }
    return candidates[candidates.length - 1]!.peer
  }

  /** Gives free slots to waiting interested peers, best first (between recalculations). */
  #fill (now: number): Array<ChokeDecision<K>> {
    const decisions: Array<ChokeDecision<K>> = []
    let regular = 0
    let optimistic = 0
    for (const s of this.#peers.values()) {
      if (s.slot === 'regular') regular++
      else if (s.slot === 'optimistic') optimistic++
    }
    for (const peer of this.#ranked(now)) {
      const s = this.#peers.get(peer)!
      if (s.slot !== 'choked') continue
      if (regular < this.slots) {
        s.slot = 'regular'
        regular++
      } else if (optimistic < this.optimisticSlots) {
        s.slot = 'optimistic'
        optimistic++
        this.#nextOptimistic = now + this.#init.optimisticIntervalMs
      } else {
        break
      }
      s.unchokedAt = now
      decisions.push({ peer, choke: false })
    }
    return decisions
  }
}

/**
 * Whether some other peer has a piece `peer` lacks (`peer` undefined: it told us nothing yet, so any piece counts).
 * A seeder defers such a peer (Choker.interested): it is likely connected to those peers too, through the same
 * tracker.
 */
export function othersCanServe (peer: Bitfield | undefined, others: Iterable<Bitfield | undefined>): boolean {
  for (const other of others) {
    if (other === undefined || other === peer || other.count === 0) continue
    if (peer === undefined) return true
    if (other.count > peer.count) return true
    for (let i = 0; i < other.length; i++) if (other.has(i) && !peer.has(i)) return true
  }
  return false
}

/**
 * The newcomer test a torrent gives its choker (ChokerInit.newcomer). The publisher's seeder asks its spread policy
 * (fewer than 4 pieces that we sent it or it announced: engine/spread.ts). Any other peer is a newcomer while it has
 * announced fewer than UNPROVEN_PEER_REQUESTS pieces (what a visitor asks before anyone delivered: its first page)
 * and we have sent it less than that many pieces' bytes: a peer that never announces what it got cannot keep a
 * newcomer's slot. `pieceLength` undefined (no metainfo yet): nobody is.
 */
export function newcomerTest (spread: Pick<Spread<Peer>, 'isNewcomer'> | undefined, pieceLength: () => number | undefined): (peer: Peer, uploaded: number) => boolean {
  if (spread !== undefined) return (peer) => spread.isNewcomer(peer)
  return (peer, uploaded) => (peer.has?.count ?? 0) < UNPROVEN_PEER_REQUESTS && uploaded < UNPROVEN_PEER_REQUESTS * (pieceLength() ?? 0)
}
