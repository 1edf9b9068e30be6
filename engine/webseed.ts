/**
 * Web seeds (BEP 19, "GetRight style"): plain HTTP servers holding the torrent's files, used as a fallback only.
 * A reader that waits for a piece no connected peer has gets it from a web seed at once; one that peers do not
 * deliver within WEB_SEED_DEADLINE_MS gets it from a web seed too. The run of pieces the reader's window covers is
 * fetched with one Range request per file (BEP 19: "a single byte-range request" for blocks of pieces), and every
 * piece goes through Torrent.offerPiece, which checks its SHA-1 like a piece from peers. A web seed whose bytes fail
 * is dropped with a warning (BEP 19: "that URL should be discarded"); one that is busy or unreachable rests a while.
 *
 * The background (what nobody reads yet) never comes from a web seed in browsers; Node downloads (`background`)
 * take it from web seeds only while no peer delivers anything.
 *
 * The browser loads this module only for a site that has web seeds (loader/webseed.ts, a bundle of its own).
 */
import { WEB_SEED_DEADLINE_MS, WEB_SEED_MAX_RUN_BYTES, WEB_SEED_RETRY_MS } from './constants.js'
import { WebSeedError } from './errors.js'
import { readBodyAtMost } from './util/read-body.js'
import { fileSlices, pieceLengthAt, type Metainfo, type TorrentFile } from './metainfo/index.js'
import type { Torrent } from './torrent.js'

export interface WebSeedsInit {
  /** BEP 19 `url-list` entries (http: or https:); others are ignored ("A client should ignore any protocols it does not know"). */
  urls: readonly string[]
  /** Also fetch missing pieces nobody reads while no peer delivers anything (Node `get` and `mirror`). */
  background?: boolean
  /** Default WEB_SEED_DEADLINE_MS. */
  deadlineMs?: number
  /** Extra request headers for a URL (the loader marks requests to its own origin so its worker lets them pass). */
  headers?: (url: string) => Record<string, string> | undefined
  fetch?: typeof fetch
}

interface Seed {
  readonly url: string
  restUntil: number
  /** Files this web seed answered 404 for (a host that hides dot-files, say): pieces touching them come from peers. */
  readonly missing: Set<number>
}

/** A 404 for one file: that file is missing there, the rest of the web seed may be fine. */
class MissingFile extends Error {
  constructor (readonly file: number) { super('missing') }
}

/** Requests to one web seed at a time (a browser opens at most six HTTP/1.1 connections to a host anyway). */
const PARALLEL_FILES = 6

/**
 * BEP 19: a multi-file torrent's URL is "a root folder where a client could add the same name and path/file";
 * a URL ending in "/" gets the name added for a single-file torrent too.
 */
export function webSeedFileUrl (base: string, metainfo: Pick<Metainfo, 'name' | 'multiFile'>, file: Pick<TorrentFile, 'path'>): string {
  const enc = (path: string): string => path.split('/').map(encodeURIComponent).join('/')
  if (!metainfo.multiFile) return base.endsWith('/') ? base + enc(metainfo.name) : base
  return (base.endsWith('/') ? base : base + '/') + enc(metainfo.name) + '/' + enc(file.path)
}

export class WebSeeds {
  readonly #torrent: Torrent
  readonly #init: WebSeedsInit
  readonly #seeds: Seed[]
  /** Pieces being fetched from a web seed now. */
  readonly #inFlight = new Set<number>()
  /** Pieces whose deadline timer runs. */
  readonly #timers = new Map<number, ReturnType<typeof setTimeout>>()
  readonly #controller = new AbortController()
  #tick: ReturnType<typeof setInterval> | undefined
  #lastDownloaded = -1

  constructor (torrent: Torrent, init: WebSeedsInit) {
    this.#torrent = torrent
    this.#init = init
    this.#seeds = [...new Set(init.urls)].filter((u) => /^https?:\/\//i.test(u)).map((url) => ({ url, restUntil: 0, missing: new Set<number>() }))
    torrent.webSeeds = this
    if (init.background === true && this.#seeds.length > 0) this.#tick = setInterval(() => this.#onTick(), this.#deadline)
  }

  /** URLs still in use (dropped ones are gone). */
  get urls (): string[] { return this.#seeds.map((s) => s.url) }

  get #deadline (): number { return this.#init.deadlineMs ?? WEB_SEED_DEADLINE_MS }

  /** A reader waits for piece `index` (its window ends at `last`): a web seed serves it if peers cannot, or are late. */
  stalled (index: number, last: number, signal?: AbortSignal): void {
    if (this.#seeds.length === 0 || this.#inFlight.has(index) || this.#timers.has(index) || this.#torrent.holds(index)) return
    const peerHasIt = [...this.#torrent.peers].some((p) => p.has?.has(index) === true)
    if (!peerHasIt) {
      void this.#fetchRun(index, last, signal)
      return
    }
    this.#timers.set(index, setTimeout(() => {
      this.#timers.delete(index)
      if (signal?.aborted !== true) void this.#fetchRun(index, last, signal)
    }, this.#deadline))
  }

  /** Node downloads: while no peer delivers anything, the next missing pieces come from a web seed. */
  #onTick (): void {
    const torrent = this.#torrent
    const metainfo = torrent.metainfo
    if (metainfo === undefined || torrent.done || this.#inFlight.size > 0) return
    const downloaded = torrent.stats().downloaded
    const idle = downloaded === this.#lastDownloaded
    this.#lastDownloaded = downloaded
    if (!idle) return
    for (let i = 0; i < metainfo.pieceCount; i++) {
      if (!torrent.holds(i)) {
        void this.#fetchRun(i, metainfo.pieceCount - 1)
        return
      }
    }
  }

  /** A web seed that is not resting and has every file of torrent bytes [start, start + length). */
  #pick (metainfo: Metainfo, start: number, length: number, now = Date.now()): Seed | undefined {
    const files = fileSlices(metainfo, start, length).map((slice) => slice.file.index)
    const ready = this.#seeds.filter((s) => s.restUntil <= now && !files.some((f) => s.missing.has(f)))
    return ready[Math.floor(Math.random() * ready.length)]
  }

  /** Fetches pieces `first`.. (up to `last`, WEB_SEED_MAX_RUN_BYTES, the first piece held or being fetched). */
  async #fetchRun (first: number, last: number, signal?: AbortSignal): Promise<void> {
    const torrent = this.#torrent
    const metainfo = torrent.metainfo
    // Peers may have delivered it while a deadline ran, or another reader's run took it.
    if (metainfo === undefined || this.#controller.signal.aborted || torrent.holds(first) || this.#inFlight.has(first)) return
    let end = first
    let bytes = pieceLengthAt(metainfo, first)
    while (end < last && !torrent.holds(end + 1) && !this.#inFlight.has(end + 1) && bytes + pieceLengthAt(metainfo, end + 1) <= WEB_SEED_MAX_RUN_BYTES) {
      end++
      bytes += pieceLengthAt(metainfo, end)
    }
    const start = first * metainfo.pieceLength
    let seed = this.#pick(metainfo, start, bytes)
    if (seed === undefined && end > first) {
      // No web seed has every file of the run: perhaps one has those of the piece the reader waits for.
      end = first
      bytes = pieceLengthAt(metainfo, first)
      seed = this.#pick(metainfo, start, bytes)
    }
    if (seed === undefined) return
    for (let i = first; i <= end; i++) this.#inFlight.add(i)
    try {
      const data = await this.#get(seed, metainfo, start, bytes)
      for (let i = first; i <= end; i++) {
        const from = i * metainfo.pieceLength - start
        const ok = await torrent.offerPiece(i, data.subarray(from, from + pieceLengthAt(metainfo, i)))
        if (this.#controller.signal.aborted) return
        if (!ok) {
          this.#drop(seed, new WebSeedError(seed.url, `piece ${i} failed its hash check`))
          break
        }
      }
    } catch (err) {
      if (this.#controller.signal.aborted) return
      if (err instanceof MissingFile) {
        seed.missing.add(err.file)
        torrent.emit('warning', new WebSeedError(seed.url, `no ${metainfo.files[err.file]?.path ?? 'file'} there (HTTP 404)`))
      } else if (err instanceof WebSeedError && !err.message.endsWith('busy')) {
        this.#drop(seed, err)
      } else {
        seed.restUntil = Date.now() + WEB_SEED_RETRY_MS
        torrent.emit('warning', new WebSeedError(seed.url, (err as Error).message))
      }
      // Another web seed may answer; else the reader keeps waiting for peers (and asks again after a rest).
      const retry = this.#seeds.length > 0 ? (this.#pick(metainfo, start, pieceLengthAt(metainfo, first)) !== undefined ? 0 : WEB_SEED_RETRY_MS) : -1
      if (retry >= 0) setTimeout(() => { if (signal?.aborted !== true && !this.#controller.signal.aborted) this.stalled(first, last, signal) }, retry)
    } finally {
      for (let i = first; i <= end; i++) this.#inFlight.delete(i)
    }
  }

  #drop (seed: Seed, err: WebSeedError): void {
    const at = this.#seeds.indexOf(seed)
    if (at >= 0) this.#seeds.splice(at, 1)
    this.#torrent.emit('warning', err)
  }

  /** Torrent bytes [start, start + length) from one web seed: one Range request per file, a few files at a time. */
  async #get (seed: Seed, metainfo: Metainfo, start: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length)
    const slices = fileSlices(metainfo, start, length)
    for (let i = 0; i < slices.length; i += PARALLEL_FILES) {
      await Promise.all(slices.slice(i, i + PARALLEL_FILES).map(async (slice) => {
        const url = webSeedFileUrl(seed.url, metainfo, slice.file)
        const res = await (this.#init.fetch ?? fetch)(url, {
          headers: { ...this.#init.headers?.(url), Range: `bytes=${slice.fileOffset}-${slice.fileOffset + slice.length - 1}` },
          signal: this.#controller.signal
        })
        if (res.status === 503 || res.status === 429) throw new WebSeedError(seed.url, 'busy')
        if (res.status === 404) throw new MissingFile(slice.file.index)
        if (res.status !== 206 && res.status !== 200) throw new WebSeedError(seed.url, `HTTP ${res.status} for ${slice.file.path}`)
        // A 206 holds the slice, a 200 the whole file: read no more than that (a server may send gigabytes).
        const max = res.status === 200 ? slice.file.length : slice.length
        const body = await readBodyAtMost(res, max, () => new WebSeedError(seed.url, `answer longer than the ${max} bytes asked`))
        // A server that ignores Range sends the whole file (200): take the slice from it.
        const bytes = res.status === 200 && body.length === slice.file.length
          ? body.subarray(slice.fileOffset, slice.fileOffset + slice.length)
          : body
        if (bytes.length !== slice.length) throw new WebSeedError(seed.url, `${slice.file.path}: ${body.length} bytes where ${slice.length} were asked`)
        out.set(bytes, slice.rangeOffset)
      }))
    }
    return out
  }

  destroy (): void {
    this.#controller.abort()
    if (this.#tick !== undefined) clearInterval(this.#tick)
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
  }
}
