/**
 * The publisher's seeder sends each piece once, and lets the visitors pass it on (issue 14). Pure data like the
 * choker: which peer got which piece from us, and what each peer announced, go in; whether a request should wait
 * comes out. The uploader (engine/upload.ts) asks it before it answers each request; only the origin seeder uses
 * it (cli/lib/swarm.ts passes one as TorrentInit.spread; the browser bundle does not include it).
 *
 * Why: visitors arrive within seconds of each other, and each asks the first peer that unchokes it, usually the
 * publisher (a fast Node seeder), for every piece at once (a 2 MB site is 125 requests, one pipeline). Measured with
 * bench/offload.mjs before this: with 8 visitors the publisher sent 2-3 full copies, the newer visitors' requests
 * arriving while the first copy was still on its way, and nothing told the publisher what the visitors held.
 *
 * The idea is BEP 16 (super-seeding): the seeder sends a peer a new piece only once it has seen an earlier one
 * "passed on". Instead of hiding pieces behind a partial bitfield (a newcomer would wait for the pieces of its first
 * page), we announce everything and hold answers back: a request for a piece that another connected peer holds (we
 * sent it there, or it announced it: visitors send `have` to seeds too) waits while the requester is getting pieces
 * from other peers (it announces pieces we did not send it). Once the requester has received nothing from anyone
 * else for `holdMs` (starved), it is served a batch of its held pieces, the rarest first, growing while nothing comes
 * from others (see #chooseBatch); any request is served after `maxHoldMs` (below the requester's request timeout,
 * after which it would never ask us for that block again); and `patienceMs` after we first held a request past its
 * first page, a peer is served at once the pieces that at most `patienceCopies` others hold (the others pass pieces
 * on too slowly for it: on a machine with 16 browsers and a load average of 40, holding on made visitors wait 45-60
 * s for the whole site). Neither holdMs nor patienceMs runs out during a pause (pauseMs: no `have` from anyone for a
 * second, after visitors had passed pieces on, while more than one peer waits): on a loaded machine every visitor's
 * messages stop at once for seconds, then come in a burst, and starved batches and patience running out in such
 * pauses sent most of the extra copies. A held request that the requester fills elsewhere is cancelled and never
 * sent. A piece nobody else holds is served at once. Because the uploader checks when a request reaches the front of
 * its queue, visitors that asked for everything at once end up with different parts: what one got first is held for
 * the others.
 *
 * Keys are opaque (the uploader uses Peer objects; the tests use letters). Time is passed in.
 */
import {
  ORIGIN_SPREAD_HOLD_MS, ORIGIN_SPREAD_MAX_HOLD_MS, ORIGIN_SPREAD_NEWCOMER_HOLD_MS, ORIGIN_SPREAD_NEWCOMER_PROBE_MS,
  ORIGIN_SPREAD_NEWCOMER_SHORT_HOLD_MS,
  ORIGIN_SPREAD_PATIENCE_COPIES, ORIGIN_SPREAD_PAUSE_MS,
  ORIGIN_SPREAD_PATIENCE_MS, ORIGIN_SPREAD_STARVED_BATCHES, ORIGIN_SPREAD_STARVED_GROWTH,
  ORIGIN_SPREAD_STARVED_PIECES, UNPROVEN_PEER_REQUESTS
} from './constants.js'

export interface SpreadInit {
  /** A held request is served once its requester got nothing from other peers for this long. */
  holdMs?: number
  /** ... or this long while the requester holds fewer than `newcomerPieces` pieces (its first page). */
  newcomerHoldMs?: number
  newcomerPieces?: number
  /**
   * After a newcomer's hold ran out with the newcomer still lacking the piece, newcomers wait `newcomerShortHoldMs`
   * only for this long (then one waits newcomerHoldMs again, a probe); a newcomer that gets a held piece elsewhere
   * turns the full hold back on.
   */
  newcomerProbeMs?: number
  newcomerShortHoldMs?: number
  /** ... and in any case once it has waited this long. */
  maxHoldMs?: number
  /**
   * A peer whose first request past its first page we held this long ago is held no more for pieces that at most
   * `patienceCopies` other peers hold: the others pass pieces on too slowly for it, and those pieces are the ones
   * spreading slowest. Pieces more peers hold stay held (holdMs, maxHoldMs still apply).
   */
  patienceMs?: number
  patienceCopies?: number
  /**
   * No peer announced a piece for this long, after peers had passed pieces to each other, while others than the
   * requester have requests held too: a pause (a loaded machine, where every visitor's messages stop at once and then
   * come in a burst), not starvation. Neither holdMs nor patienceMs runs out during it; 0 turns this off.
   */
  pauseMs?: number
  /**
   * A starved requester (see holdMs) gets this many of its held pieces first, the rarest; then more each holdMs while
   * nothing comes from others (ORIGIN_SPREAD_STARVED_GROWTH); after `starvedBatches` such batches, everything it asks.
   */
  starvedPieces?: number
  starvedBatches?: number
  /** Ties between equally rare pieces; default Math.random. */
  random?: () => number
}

/**
 * Why a request was served rather than held (Spread.decide): `only`, no other connected peer holds the piece;
 * `newcomer`/`starved`, the requester got nothing from others for newcomerHoldMs/holdMs; `max`, it waited maxHoldMs;
 * `patience`, the requester was first held patienceMs ago; `off`, holding is disabled.
 */
export type ServeReason = 'only' | 'newcomer' | 'starved' | 'max' | 'patience' | 'off'
export type SpreadDecision = 'hold' | ServeReason

/** What the policy did (bench/offload.mjs reads it from the seeder to find where extra copies go). */
export interface SpreadStats {
  /** Requests served, by reason. */
  served: Record<ServeReason, number>
  /** Requests served although another connected peer held the piece (every reason but `only`/`off`). */
  duplicates: number
  /** Requests held at least once. */
  held: number
  /** Pauses (pauseMs) that ended with news while peers waited, and the starved checks they kept waiting. */
  pauses: number
  pauseHeld: number
}

interface PeerState {
  /** Pieces we sent it: its `have` for them is no news. */
  sent: Set<number>
  /** Pieces counted in #copies for it. */
  holds: Set<number>
  /** When it last announced a piece we did not send it (it gets pieces from other peers). */
  lastFromOthers: number
  /** When we first held back one of its requests past its first page (patience). */
  firstHeld: number
  /** Pieces of its requests we hold back now (cleared as they are served, cancelled or announced). */
  held: Set<number>
  /** The batch of held pieces chosen to serve because it is starved (rarest first), not served yet. */
  release: Set<number>
  /** When the last batch was chosen: the next one waits holdMs from then unless others serve it meanwhile. */
  lastRelease: number
  /** Batches in a row after which nothing came from others (each ORIGIN_SPREAD_STARVED_GROWTH times the last). */
  fruitless: number
  /** The last batch was empty (#chooseBatch): it does not count in `fruitless`. */
  emptyBatch: boolean
  /** When news came again after a pause (pauseMs) during which it had requests held: its starvation clock restarts. */
  pauseEnd: number
}

export class Spread<K> {
  readonly holdMs: number
  readonly maxHoldMs: number
  readonly patienceMs: number
  readonly patienceCopies: number
  readonly pauseMs: number
  readonly newcomerHoldMs: number
  readonly newcomerPieces: number
  readonly newcomerProbeMs: number
  readonly newcomerShortHoldMs: number
  readonly starvedPieces: number
  readonly starvedBatches: number
  readonly #random: () => number
  /** Per piece: the connected peers that hold a copy (we sent it to them, or they announced it). */
  readonly #copies = new Map<number, Set<K>>()
  /** Per peer: what we know of it (see PeerState). */
  readonly #peers = new Map<K, PeerState>()
  /** Per piece: the peer whose starved batch last took it, and when (#chooseBatch). */
  readonly #batched = new Map<number, { peer: K, at: number }>()
  /**
   * Whether newcomers' requests are held newcomerHoldMs now: false once a newcomer's hold ran out fruitless (then
   * newcomerShortHoldMs), true again once a held newcomer got the piece elsewhere; while false, the next newcomer is
   * held the full time anyway (a probe) from #newcomerProbeAt on. See #newcomerHoldFor.
   */
  #newcomerHolds = true
  #newcomerProbeAt = -Infinity
  /** When a peer last announced a piece (any: the swarm's news, for pauses). */
  #lastNews = -Infinity
  /** Whether a peer has announced a piece we did not send it: visitors pass pieces on here (pauses). */
  #traded = false
  /** Called for each request served with its reason and the copies known elsewhere (bench traces). */
  onServe: ((peer: K, index: number, reason: ServeReason, copiesElsewhere: number) => void) | undefined
  readonly #stats: SpreadStats = {
    served: { only: 0, newcomer: 0, starved: 0, max: 0, patience: 0, off: 0 }, duplicates: 0, held: 0, pauses: 0, pauseHeld: 0
  }

  constructor (init: SpreadInit = {}) {
    this.holdMs = Math.max(0, init.holdMs ?? ORIGIN_SPREAD_HOLD_MS)
    this.maxHoldMs = Math.max(this.holdMs, init.maxHoldMs ?? ORIGIN_SPREAD_MAX_HOLD_MS)
    this.patienceMs = Math.max(0, init.patienceMs ?? ORIGIN_SPREAD_PATIENCE_MS)
    this.patienceCopies = Math.max(1, init.patienceCopies ?? ORIGIN_SPREAD_PATIENCE_COPIES)
    this.pauseMs = Math.max(0, init.pauseMs ?? ORIGIN_SPREAD_PAUSE_MS)
    this.newcomerHoldMs = Math.min(this.holdMs, Math.max(0, init.newcomerHoldMs ?? ORIGIN_SPREAD_NEWCOMER_HOLD_MS))
    this.newcomerPieces = Math.max(0, init.newcomerPieces ?? UNPROVEN_PEER_REQUESTS)
    this.newcomerProbeMs = Math.max(0, init.newcomerProbeMs ?? ORIGIN_SPREAD_NEWCOMER_PROBE_MS)
    this.newcomerShortHoldMs = Math.min(this.newcomerHoldMs, Math.max(0, init.newcomerShortHoldMs ?? ORIGIN_SPREAD_NEWCOMER_SHORT_HOLD_MS))
    this.starvedPieces = Math.max(1, init.starvedPieces ?? ORIGIN_SPREAD_STARVED_PIECES)
    this.starvedBatches = Math.max(0, init.starvedBatches ?? ORIGIN_SPREAD_STARVED_BATCHES)
    this.#random = init.random ?? Math.random
  }

  /** We wrote (a block of) piece `index` to `peer`; `reason`: what decide() said (counted in stats()). */
  sent (peer: K, index: number, reason?: ServeReason): void {
    if (reason !== undefined) {
      this.onServe?.(peer, index, reason, this.copiesElsewhere(peer, index))
      this.#stats.served[reason]++
      if (reason !== 'only' && reason !== 'off') this.#stats.duplicates++
    }
    const state = this.#peer(peer)
    state.sent.add(index)
    state.held.delete(index)
    state.release.delete(index)
    this.#add(peer, index)
  }

  /** The peer cancelled its request for (a block of) piece `index`, or every request (choked): none is held now. */
  cancelled (peer: K, index?: number): void {
    const state = this.#peers.get(peer)
    if (state === undefined) return
    if (index === undefined) {
      state.held.clear()
      state.release.clear()
    } else {
      this.#newcomerGotElsewhere(peer, state, index)
      state.held.delete(index)
      state.release.delete(index)
    }
  }

  stats (): SpreadStats {
    return { ...this.#stats, served: { ...this.#stats.served } }
  }

  /**
   * The peer announced piece `index` at `now` (in its bitfield: `bitfield`, else a `have`): if we did not send it,
   * another peer did. Only `have` messages are the swarm's news (pauseMs): a bitfield is what a peer brought along.
   */
  has (peer: K, index: number, now: number, bitfield = false): void {
    const state = this.#peer(peer)
    if (!state.sent.has(index)) state.lastFromOthers = now
    if (!bitfield) {
      if (this.#traded && this.pauseMs > 0 && now - this.#lastNews >= this.pauseMs) this.#pauseEnded(now)
      this.#lastNews = Math.max(this.#lastNews, now)
      if (!state.sent.has(index)) this.#traded = true
    }
    this.#newcomerGotElsewhere(peer, state, index)
    state.held.delete(index)
    state.release.delete(index)
    this.#add(peer, index)
  }

  /** The peer left: its copies no longer count. */
  remove (peer: K): void {
    const state = this.#peers.get(peer)
    if (state === undefined) return
    this.#peers.delete(peer)
    for (const index of state.holds) {
      const holders = this.#copies.get(index)
      holders?.delete(peer)
      if (holders?.size === 0) this.#copies.delete(index)
    }
  }

  /** Connected peers other than `peer` that hold piece `index`. */
  copiesElsewhere (peer: K, index: number): number {
    const holders = this.#copies.get(index)
    if (holders === undefined) return 0
    return holders.size - (holders.has(peer) ? 1 : 0)
  }

  /**
   * Whether a request of `peer` for piece `index`, held since `heldSince` (undefined: considered for the first time
   * now), should wait (longer). Each request waits on its own clock: a rule per peer ("starved once, served at once
   * from then on") sent whole copies to visitors whose links to the others were still opening (bench/offload.mjs,
   * 16 visitors on a loaded machine: 5.7 copies).
   */
  shouldHold (peer: K, index: number, now: number, heldSince: number | undefined): boolean {
    return this.decide(peer, index, now, heldSince) === 'hold'
  }

  /** shouldHold, with the reason a request is served (stats, bench traces). */
  decide (peer: K, index: number, now: number, heldSince: number | undefined): SpreadDecision {
    if (this.holdMs === 0) return 'off'
    const copies = this.copiesElsewhere(peer, index)
    if (copies === 0) return 'only'
    const state = this.#peer(peer)
    const newcomer = this.isNewcomer(peer)
    const paused = !newcomer && this.#paused(peer, now)
    // The patience clock starts with the first held request past the first page: a newcomer's first page is held
    // 0.5 s at most anyway, and starting the clock there ran it out before the background fetch of the rest of the
    // site even began (bench/offload.mjs, 16 visitors: every extra copy went out through patience).
    if (!newcomer && state.firstHeld === Infinity) state.firstHeld = now
    if (!paused && now - state.firstHeld >= this.patienceMs && copies <= this.patienceCopies) return 'patience'
    // Batches brought nothing from others, again and again: the others cannot reach it (or lie); serve it freely
    // until news from them comes (then it is held again, in small batches).
    if (!newcomer && state.fruitless >= this.starvedBatches && state.lastRelease > state.lastFromOthers) return 'starved'
    const holdFor = newcomer ? this.#newcomerHoldFor(now) : this.holdMs
    const starved = newcomer ? 'newcomer' : 'starved'
    if (heldSince === undefined) {
      if (holdFor <= 0) return starved
      this.#stats.held++
      state.held.add(index)
      return 'hold'
    }
    if (now - heldSince >= this.maxHoldMs) return 'max'
    if (state.release.has(index)) return 'starved'
    state.held.add(index)
    if (now - this.#holdStart(state, newcomer, heldSince) < holdFor) return 'hold'
    // A newcomer's first page is served whole: its first paint must not wait for batches. Its links to the peers
    // holding the piece were not open in time: the next newcomers wait less (#newcomerHoldFor). A short hold running
    // out says nothing new (the probe stays due); a full one (before, or a probe) starts the wait for the next probe.
    if (newcomer) {
      if (this.#newcomerHolds || now >= this.#newcomerProbeAt) this.#newcomerProbeAt = now + this.newcomerProbeMs
      this.#newcomerHolds = false
      return 'newcomer'
    }
    // Nobody announced anything for a while: the requester's silence says nothing (its news may be in the burst
    // to come). It waits; the clock restarts when news comes (#pauseEnded).
    if (paused) {
      this.#stats.pauseHeld++
      return 'hold'
    }
    this.#chooseBatch(state, peer, now)
    return state.release.has(index) ? 'starved' : 'hold'
  }

  /**
   * The requester got nothing from others for holdMs: choose which of its held pieces to serve, the rarest first
   * (fewest copies elsewhere, ties at random), a batch at a time. Starved visitors that arrived together then get
   * different pieces and trade them, instead of one whole copy each (bench/offload.mjs, 16 visitors: four that
   * arrived within a second all got the whole site from the publisher 2.5 s after asking; BEP 16 reveals one piece
   * per peer for the same reason). A visitor whose other peers give it nothing (silent, hostile, links still
   * opening) gets batches ORIGIN_SPREAD_STARVED_GROWTH times larger each holdMs (a 2 MB site within 7.5 s: 16, 32,
   * 64 pieces, the rest after maxHoldMs), and after `starvedBatches` of them everything it asks.
   */
  #chooseBatch (state: PeerState, peer: K, now: number): void {
    if (state.release.size > 0) return
    // A piece another starved peer's batch took within holdMs is left to that peer to pass on. Two visitors starved
    // at once, each with one request out to us for the same rarest piece, both got it; neither then had news for the
    // other, both batches counted as fruitless, and the next ones (twice as large) sent each a whole copy
    // (test/unit/engine/offload.test.ts: 1.8 copies in 3 of 46 runs). With nothing else held, no batch this time:
    // the next is considered holdMs later (#holdStart), and this one does not count as fruitless.
    const candidates = [...state.held].filter((index) => {
      const last = this.#batched.get(index)
      return last === undefined || last.peer === peer || now - last.at >= this.holdMs || !this.#peers.has(last.peer)
    })
    const nothingSince = state.lastRelease > state.lastFromOthers
    state.fruitless = !nothingSince ? 0 : state.emptyBatch ? state.fruitless : state.fruitless + 1
    state.lastRelease = now
    state.emptyBatch = candidates.length === 0
    if (state.emptyBatch) return
    const size = this.starvedPieces * ORIGIN_SPREAD_STARVED_GROWTH ** state.fruitless
    const ranked = candidates.map((index) => ({ index, copies: this.copiesElsewhere(peer, index), tie: this.#random() }))
    ranked.sort((a, b) => a.copies - b.copies || a.tie - b.tie)
    for (const { index } of ranked.slice(0, size)) {
      state.release.add(index)
      this.#batched.set(index, { peer, at: now })
    }
  }

  /**
   * How long a newcomer's request for a piece others hold is held. Holding pays only if the newcomer's links to those
   * peers deliver within newcomerHoldMs; on a loaded machine they open seconds after its link to us, and then every
   * hold only delayed a first paint (ORIGIN_SPREAD_NEWCOMER_PROBE_MS). So after a fruitless hold newcomers are held
   * newcomerShortHoldMs (the piece often arrives from another visitor just as the request reaches us: its cancel
   * follows within milliseconds), and after newcomerProbeMs one is held the full time again to see whether it pays.
   */
  #newcomerHoldFor (now: number): number {
    return this.#newcomerHolds || now >= this.#newcomerProbeAt ? this.newcomerHoldMs : this.newcomerShortHoldMs
  }

  /** A newcomer's held request for `index` ended without us (cancelled, or announced): newcomer holds pay off. */
  #newcomerGotElsewhere (peer: K, state: PeerState, index: number): void {
    if (state.held.has(index) && this.isNewcomer(peer)) this.#newcomerHolds = true
  }

  /** Since when a held request's starvation clock runs: its hold, news from others, or the last batch served. */
  #holdStart (state: PeerState, newcomer: boolean, heldSince: number): number {
    return Math.max(heldSince, state.lastFromOthers, newcomer ? -Infinity : Math.max(state.lastRelease, state.pauseEnd))
  }

  /**
   * Whether the swarm is in a pause (pauseMs): no peer announced a piece for pauseMs, after peers had passed pieces
   * on (before that, silence is visitors that cannot reach each other: starved batches are what serves them), and
   * another peer than `peer` waits for held requests too (one alone waiting is starved: the others have nothing
   * left to fetch, or cannot reach it).
   */
  #paused (peer: K, now: number): boolean {
    if (this.pauseMs === 0 || !this.#traded || now - this.#lastNews < this.pauseMs) return false
    for (const [other, state] of this.#peers) if (other !== peer && state.held.size > 0) return true
    return false
  }

  /**
   * News came at `now` after a pause: the peers held through it start their starvation clock again, and their
   * patience resumes where it stopped (the pause does not count).
   */
  #pauseEnded (now: number): void {
    const held = [...this.#peers.values()].filter((state) => state.held.size > 0)
    if (held.length < 2) return
    const pause = now - this.#lastNews
    this.#stats.pauses++
    for (const state of held) {
      state.pauseEnd = now
      state.firstHeld += Math.min(pause, Math.max(0, now - state.firstHeld))
    }
  }

  /**
   * When a request for piece `index` held since `heldSince` is next worth looking at (its hold may be over then),
   * after `now`.
   */
  recheckAt (peer: K, index: number, heldSince: number, now: number): number {
    const state = this.#peer(peer)
    const newcomer = this.isNewcomer(peer)
    const holdFor = newcomer ? this.#newcomerHoldFor(now) : this.holdMs
    let at = Math.min(heldSince + this.maxHoldMs, this.#holdStart(state, newcomer, heldSince) + holdFor)
    const patienceAt = state.firstHeld + this.patienceMs
    // Past its patience, a piece that has spread further stays held (its other limits apply): no busy recheck.
    if (patienceAt > now || this.copiesElsewhere(peer, index) <= this.patienceCopies) at = Math.min(at, patienceAt)
    // In a pause neither runs out: look again a pause later (news has come by then, restarting them, or not).
    if (!newcomer && this.#paused(peer, now)) at = Math.min(heldSince + this.maxHoldMs, Math.max(at, now + this.pauseMs))
    if (state.release.has(index)) at = now
    return Math.max(at, now)
  }

  /**
   * A newcomer (it holds fewer than `newcomerPieces` pieces) is asking for its first page: it asks another peer
   * too at once (picker urgentPriority), and a visitor that is connected serves it within a round trip, but its
   * links may still be opening; it waits `newcomerHoldMs` only, so that its first paint is not later than without
   * the hold by more than that, and newcomerShortHoldMs while such holds do not pay (#newcomerHoldFor). A peer we know nothing
   * of yet is a newcomer. The choker gives a newcomer a slot of its
   * own when all are taken (engine/choker.ts ChokerInit.newcomer).
   */
  isNewcomer (peer: K): boolean {
    return (this.#peers.get(peer)?.holds.size ?? 0) < this.newcomerPieces
  }

  #peer (peer: K): PeerState {
    let state = this.#peers.get(peer)
    if (state === undefined) {
      state = {
        sent: new Set(), holds: new Set(), lastFromOthers: -Infinity, firstHeld: Infinity,
        held: new Set(), release: new Set(), lastRelease: -Infinity, fruitless: 0, emptyBatch: false, pauseEnd: -Infinity
      }
      this.#peers.set(peer, state)
    }
    return state
  }

  #add (peer: K, index: number): void {
    let holders = this.#copies.get(index)
    if (holders === undefined) {
      holders = new Set()
      this.#copies.set(index, holders)
    }
    holders.add(peer)
    this.#peer(peer).holds.add(index)
  }
}
