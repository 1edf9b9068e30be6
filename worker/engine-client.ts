/**
 * The worker's side of the engine port (protocol.ts): turns a run of pieces into a pull-based ReadableStream of
 * whole pieces fed by the leader page's engine. The pieces are not trusted here: worker/verified-read.ts checks each.
 *
 * - One `pull` per piece, at most `window` pieces ahead of what the stream's consumer has taken (open's last
 *   argument; verified-read.ts asks for about READ_WINDOW_BYTES), so a paused video stops pulling and the engine
 *   stops sending, while a script or a page streams without a worker <-> page round trip per piece.
 * - The browser aborting the request (every seek does) or cancelling the body sends `cancel`.
 * - Leaders are kept per infohash. With none (fresh worker, or the browser restarted the worker and the port was
 *   lost), the client asks the pages (`need-leader`) and waits a bounded time. When a new port arrives for an
 *   infohash (the old leader tab closed and another page took the lock), reads still running on the old port
 *   move to it: the rest of their pieces are read again there, so the stream goes on without a gap.
 * - Failures are typed (EngineReadError.kind), so the worker answers 404, 416, 502 or 504, each with its reason.
 */
import type { EngineErrorKind, EngineReply, EngineRequest } from './protocol.js'

/** A plain site's build (scripts/build-browser.mjs): no sectioned index, so no hints for the engine. */
declare const PEERSITE_PLAIN: boolean | undefined
/** Set in every browser build (undefined in Node's tests). */
declare const PEERSITE_BROWSER: boolean | undefined

/**
 * A read failed: why (`kind`, see protocol.ts EngineErrorKind) and a sentence for the visitor. The worker's own error
 * classes, not engine/errors.ts's: nothing reads their `code`, and sw.js then carries no copy of the engine's.
 */
export class EngineReadError extends Error {
  readonly kind: EngineErrorKind
  constructor (kind: EngineErrorKind, message: string) {
    super(message)
    this.name = 'EngineReadError'
    this.kind = kind
  }
}

/** The request's signal fired, or the response body was cancelled. */
export class AbortError extends Error {
  constructor (message = 'aborted') {
    super(message)
    this.name = 'AbortError'
  }
}

/** One whole piece as the engine sent it (unverified). */
export interface EnginePiece {
  readonly index: number
  readonly bytes: Uint8Array
}

/** What a read asks for: the pieces `first`..`last` holding bytes [offset, offset + length) of `path`. */
export interface PieceRun {
  readonly path: string
  readonly offset: number
  readonly length: number
  readonly first: number
  readonly last: number
  /** A sectioned index: the SHA-1 of the pieces up to `last` (protocol.ts EngineRequest `read`). */
  readonly hashes?: ArrayBuffer
}

export interface EngineClientInit {
  /** Asks the loader pages for a leader (the worker posts `need-leader` to its window clients). */
  readonly requestLeader?: () => void
  /** How long a read waits for a leader page to hand over a port. */
  readonly leaderTimeoutMs?: number
  /**
   * How long a pull may go unanswered before the read fails. A chunk comes only after its piece is verified, so
   * this must cover downloading one piece from a slow swarm.
   */
  readonly stallTimeoutMs?: number
}

export const LEADER_TIMEOUT_MS = 15_000
export const STALL_TIMEOUT_MS = 60_000
/** Several reads waiting for a leader at once post one `need-leader`, not one each. */
const ASK_INTERVAL_MS = 1_000

interface Leader {
  readonly infoHash: string
  readonly port: MessagePort
  readonly reads: Map<number, Read>
  closed: boolean
}

interface Read {
  readonly id: number
  readonly run: PieceRun
  leader: Leader
  /** the index of the next piece expected */
  next: number
  /** pieces received that the consumer has not taken yet (pulled ahead) */
  readonly queue: EnginePiece[]
  /** pulls posted and not answered yet */
  asked: number
  /** at most this many pieces asked for or queued ahead of the consumer */
  readonly window: number
  /** every piece arrived (or `end`): the next pull closes the stream */
  complete: boolean
  failure: Error | null
  waiter: { resolve: (piece: EnginePiece | null) => void, reject: (err: Error) => void } | null
  timer: ReturnType<typeof setTimeout> | undefined
  controller: ReadableStreamDefaultController<EnginePiece> | null
  unlisten: () => void
}

interface LeaderWaiter {
  readonly infoHash: string
  readonly resolve: (leader: Leader) => void
  readonly reject: (err: Error) => void
}

export class EngineClient {
  readonly #leaders = new Map<string, Leader>()
  readonly #waiters = new Set<LeaderWaiter>()
  readonly #requestLeader: () => void
  readonly #leaderTimeoutMs: number
  readonly #stallTimeoutMs: number
  #nextId = 0
  #lastAsk = -Infinity

  constructor (init: EngineClientInit = {}) {
    this.#requestLeader = init.requestLeader ?? (() => {})
    this.#leaderTimeoutMs = init.leaderTimeoutMs ?? LEADER_TIMEOUT_MS
    this.#stallTimeoutMs = init.stallTimeoutMs ?? STALL_TIMEOUT_MS
    if (!(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN)) {
      // A first visit's page is often read before its leader page has introduced itself: the hint waits for the
      // leader as the read does (dropped, the page's files were asked for one level at a time: CI's many-files test).
      // It never asks for one: a `need-leader` starts a return visit's engine at once (loader/index.html), and a page
      // the worker serves from its copies needs none. A read that needs the engine asks.
      this.hint = (infoHash, request, transfer = []) => {
        this.#leaderFor(infoHash, undefined, false).then((leader) => { leader.port.postMessage(request, transfer) }).catch(() => {})
      }
    }
    if (typeof PEERSITE_BROWSER === 'undefined') this.hasLeader = (infoHash) => this.#leaders.get(infoHash)?.closed === false
  }

  /** Whether a live port is known for this infohash (for Node's tests: the browser builds leave it out). */
  declare readonly hasLeader: ((infoHash: string) => boolean) | undefined

  /** A page runs the engine for `infoHash` and reads go to `port` from now on (the newest port wins). */
  setLeader (infoHash: string, port: MessagePort): void {
    const old = this.#leaders.get(infoHash)
    if (old?.port === port) return
    const leader: Leader = { infoHash, port, reads: new Map(), closed: false }
    // The leader page is gone: its port closed (where MessagePort has a close event: Node, not Chromium 156), or it
    // said `gone` as it left. Its reads then wait for the next leader (they move to it) or their stall timeout, and
    // the next read asks the pages for one (#leaderFor). Reads already waiting ask now: the next holder of the lock
    // introduces itself, but a returning visitor's shell (a reload, an address typed in the leader tab) starts its
    // engine only when asked or after 3 s (loader/index.html), and its first read may have come to this port before
    // the old page left. A re-introduction's old port says `gone` too (loader/engine-host.ts close): if that comes
    // before the new port, its reads ask once (at most one ask a second, #ask) and then move to the new port.
    const gone = (): void => {
      leader.closed = true
      if (leader.reads.size > 0) this.#ask()
    }
    port.onmessage = (event: MessageEvent) => { (event.data as EngineReply | null)?.type === 'gone' ? gone() : this.#onReply(leader, event.data) }
    port.addEventListener('close', gone)
    port.start()
    this.#leaders.set(infoHash, leader)
    // A hostile page could introduce a port per made-up infohash: past 8, the oldest idle one is dropped (a real leader
    // of it introduces itself again when a read asks).
    if (this.#leaders.size > 8) for (const [h, l] of this.#leaders) if (!l.reads.size && l !== leader) { this.#leaders.delete(h); l.port.close(); break }
    if (old !== undefined) {
      for (const read of old.reads.values()) this.#move(read, leader)
      old.reads.clear()
      old.port.onmessage = null
      old.closed = true
      old.port.close()
    }
    for (const w of this.#waiters) if (w.infoHash === infoHash) w.resolve(leader)
  }

  /**
   * The whole pieces `run.first`..`run.last` of the torrent `infoHash`, in order. Resolves with the stream once the
   * first piece has arrived (so the caller can still answer with an error page otherwise); rejects with an
   * EngineReadError (no leader or no peer in time, a missing file, a bad range), with AbortError when `signal` fires.
   */
  async open (infoHash: string, run: PieceRun, signal?: AbortSignal, window = 1): Promise<ReadableStream<EnginePiece>> {
    if (signal?.aborted === true) throw new AbortError()
    const leader = await this.#leaderFor(infoHash, signal)
    const read: Read = {
      id: ++this.#nextId, run, leader, next: run.first, queue: [], asked: 0, window: Math.max(1, Math.floor(window)), complete: run.first > run.last,
      failure: null, waiter: null, timer: undefined, controller: null, unlisten: () => {}
    }
    if (signal !== undefined) {
      const onAbort = (): void => { this.#fail(read, new AbortError(), true) }
      signal.addEventListener('abort', onAbort, { once: true })
      read.unlisten = () => { signal.removeEventListener('abort', onAbort) }
    }
    leader.reads.set(read.id, read)
    this.#post(leader, { type: 'read', id: read.id, ...run })
    const first = await this.#next(read)
    return new ReadableStream<EnginePiece>({
      start: (controller) => {
        read.controller = controller
        this.#deliver(read, controller, first)
      },
      pull: async (controller) => {
        this.#deliver(read, controller, await this.#next(read))
      },
      cancel: () => { this.#fail(read, new AbortError('body cancelled'), true) }
    })
  }

  /**
   * A hint for the engine (no answer comes): posted to this infohash's leader, once there is one (dropped if none
   * comes in time, as a read fails then). Only a
   * sectioned index sends hints (handlers/site.ts): a plain site's build has none (set in the constructor, declared
   * here so that no field is left of it).
   */
  declare readonly hint: ((infoHash: string, request: EngineRequest & { type: 'preload' }, transfer?: Transferable[]) => void) | undefined

  /**
   * Piece `index` from this infohash's leader failed the worker's check: the engine drops its copy and fetches it
   * again. With `distrust`, the port is dropped as well (it sent bad pieces again) and the pages are asked for a
   * leader: a forged port loses its place, and the real leader page introduces itself again.
   */
  reject (infoHash: string, index: number, distrust = false): void {
    const leader = this.#leaders.get(infoHash)
    if (leader === undefined) return
    this.#post(leader, { type: 'bad-piece', index })
    if (!distrust || leader.closed) return
    // As if the tab had closed: its reads wait for the next leader and move to it (setLeader).
    leader.closed = true
    leader.port.close()
    this.#lastAsk = -Infinity
    this.#ask()
  }

  #deliver (read: Read, controller: ReadableStreamDefaultController<EnginePiece>, piece: EnginePiece | null): void {
    if (piece !== null) controller.enqueue(piece)
    // Close as soon as the last piece is in: no round trip for an `end`.
    if (piece === null || (read.complete && read.queue.length === 0)) {
      read.unlisten()
      controller.close()
    }
  }

  /** The next piece of a read (null: no more); keeps up to the read's window of pulls on their way. */
  async #next (read: Read): Promise<EnginePiece | null> {
    if (read.failure !== null) throw read.failure
    const queued = read.queue.shift()
    this.#topUp(read)
    if (queued !== undefined) return queued
    if (read.complete) return null
    return await new Promise<EnginePiece | null>((resolve, reject) => {
      read.waiter = { resolve, reject }
      this.#arm(read)
    })
  }

  /** Posts pulls until the window is full or every piece of the run is asked for. */
  #topUp (read: Read): void {
    if (read.complete || read.failure !== null) return
    const unasked = read.run.last + 1 - read.next - read.asked
    const room = read.window - read.queue.length - read.asked
    for (let i = Math.min(unasked, room); i > 0; i--) {
      read.asked++
      this.#post(read.leader, { type: 'pull', id: read.id })
    }
  }

  #arm (read: Read): void {
    clearTimeout(read.timer)
    read.timer = setTimeout(() => {
      this.#fail(read, new EngineReadError('stall', `no peer delivered ${read.run.path} within ${Math.round(this.#stallTimeoutMs / 1000)} s`), true)
    }, this.#stallTimeoutMs)
  }

  #onReply (leader: Leader, data: unknown): void {
    const msg = data as Extract<EngineReply, { id: number }> | null
    if (typeof msg !== 'object' || msg === null || typeof msg.id !== 'number') return
    const read = leader.reads.get(msg.id)
    if (read === undefined) return // a read that finished, failed or moved to a newer leader
    clearTimeout(read.timer)
    if (msg.type === 'piece') {
      const b: unknown = msg.bytes
      const bytes = b instanceof ArrayBuffer ? new Uint8Array(b) : ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : null
      // Pieces come in order, one per pull: anything else (a piece nobody asked for would wait in memory) is an
      // engine that cannot be trusted with this read.
      if (bytes === null || msg.index !== read.next || read.asked-- < 1) return this.#fail(read, new EngineReadError('verification', 'pieces out of order'), true)
      read.next++
      if (msg.index >= read.run.last) {
        read.complete = true
        leader.reads.delete(read.id)
        // The engine may expect a last pull before it sends `end`: cancel frees that read without a round trip.
        this.#post(leader, { type: 'cancel', id: read.id })
      }
      const piece: EnginePiece = { index: msg.index, bytes }
      const waiter = read.waiter
      read.waiter = null
      if (waiter !== null) waiter.resolve(piece)
      else read.queue.push(piece)
    } else if (msg.type === 'end') {
      leader.reads.delete(read.id)
      if (read.next <= read.run.last) {
        return this.#fail(read, new EngineReadError('unavailable', `the engine ended ${read.run.path} before piece ${read.next}`), false)
      }
      read.complete = true
      const waiter = read.waiter
      read.waiter = null
      waiter?.resolve(null)
    } else if (msg.type === 'error') {
      // An unknown kind becomes a 503 (site.ts failurePage).
      this.#fail(read, new EngineReadError(msg.kind, String(msg.message)), false)
    }
  }

  /** Ends a read with an error: rejects a pending pull or open, errors the stream, tells the engine if asked. */
  #fail (read: Read, err: Error, cancel: boolean): void {
    if (read.failure !== null) return
    read.failure = err
    clearTimeout(read.timer)
    read.unlisten()
    const wasRegistered = read.leader.reads.delete(read.id)
    if (cancel && wasRegistered) this.#post(read.leader, { type: 'cancel', id: read.id })
    const waiter = read.waiter
    read.waiter = null
    if (waiter !== null) waiter.reject(err)
    else if (read.controller !== null) {
      try { read.controller.error(err) } catch { /* already closed or cancelled */ }
    }
  }

  /** Leader handover: the rest of the read's range is asked of the new leader, under the same id. */
  #move (read: Read, to: Leader): void {
    if (!read.leader.closed) this.#post(read.leader, { type: 'cancel', id: read.id })
    read.leader = to
    to.reads.set(read.id, read)
    // Pieces already queued stay; the new leader starts after them, with the pulls the old one had not answered.
    const first = read.next
    this.#post(to, { type: 'read', id: read.id, ...read.run, first })
    read.asked = 0
    this.#topUp(read)
    if (read.waiter !== null) this.#arm(read)
  }

  /** The live leader of `infoHash`, waited for (a bounded time) if there is none; `ask`: the pages are asked for one. */
  async #leaderFor (infoHash: string, signal?: AbortSignal, ask = true): Promise<Leader> {
    const known = this.#leaders.get(infoHash)
    if (known !== undefined && !known.closed) return known
    return await new Promise<Leader>((resolve, reject) => {
      const timers: Array<ReturnType<typeof setTimeout>> = []
      const done = (): void => {
        this.#waiters.delete(waiter)
        for (const t of timers) clearTimeout(t)
        signal?.removeEventListener('abort', onAbort)
      }
      const waiter: LeaderWaiter = {
        infoHash,
        resolve: (leader) => { done(); resolve(leader) },
        reject: (err) => { done(); reject(err) }
      }
      const onAbort = (): void => { waiter.reject(new AbortError()) }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.add(waiter)
      timers.push(setTimeout(() => { waiter.reject(new EngineReadError('unavailable', 'no page of this site runs an engine')) }, this.#leaderTimeoutMs))
      // (Only a sectioned index's hint waits without asking: a plain site's build has no hints, and drops this.)
      if (!(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) && !ask) return
      // A page still booting may miss the first message: ask once more before giving up.
      timers.push(setTimeout(() => { this.#ask() }, this.#leaderTimeoutMs / 3))
      this.#ask()
    })
  }

  #ask (): void {
    const now = Date.now()
    if (now - this.#lastAsk < ASK_INTERVAL_MS) return
    this.#lastAsk = now
    try { this.#requestLeader() } catch { /* no clients to ask: the timeout answers */ }
  }

  #post (leader: Leader, msg: EngineRequest): void {
    try { leader.port.postMessage(msg) } catch { /* a closed port: the stall timeout or a new leader settles it */ }
  }
}
