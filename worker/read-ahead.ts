/**
 * Reads of a page's needs, opened by the worker as it serves the page (peersite.json `preload`, the first tier
 * loader/preload.ts raises), so the frame's requests for them find their first pieces in the worker. Without it each
 * request waited 9-210 ms before the engine even opened its read: the read crosses the leader page's main thread,
 * which the site's frame shares and its scripts hold (README "The cold path, step by step").
 *
 * A read opened ahead is the same verified read (verified-read.ts) the frame's request would open: only its start is
 * earlier. It is consumed once, by a request for the whole file (a Range request opens its own); unused, it is
 * cancelled after READ_AHEAD_MS. The files of the reads held add up to at most READ_AHEAD_MAX_BYTES (a read holds
 * less: its window, verified-read.ts), so a page whose needs are bigger gets the first of them read ahead.
 */
import type { OpenBody, Site } from './site.js'

/** The frame asks for a page's needs within a second or two of its document (longer on a loaded machine). */
export const READ_AHEAD_MS = 10_000
/** A page's scripts and stylesheets (swagger-ui: 1.9 MB; monaco's first tier: 29 KB), as loader/preload.ts caps its likely tier. */
export const READ_AHEAD_MAX_BYTES = 6 * 1024 * 1024

interface Ahead {
  /** undefined: the read failed */
  readonly body: Promise<ReadableStream<Uint8Array> | undefined>
  readonly length: number
  readonly abort: AbortController
  readonly timer: ReturnType<typeof setTimeout>
}

/** The first-tier needs of HTML page `path` (files of the site, in document order); none for an unknown page. */
export function pageNeeds (site: Site, path: string): ReadonlyArray<{ readonly path: string, readonly length: number }> {
  const { preload, layout } = site
  const page = layout.findIndex((f) => f.path === path)
  const pairs = preload?.pages ?? []
  for (let k = 0; k < pairs.length; k += 2) {
    // A hint, unchecked by parseManifest: what does not name a served file of the table is skipped.
    if (pairs[k] === page) return ([] as number[]).concat(preload!.groups[pairs[k + 1]!] ?? []).map((i) => layout[i]!).filter((f) => site.files.has(f?.path as string))
  }
  return []
}

export class ReadAhead {
  /** `${length} ${path}` (a request for the whole file) -> its read */
  readonly #reads = new Map<string, Ahead>()

  /** Opens whole-file reads of `files`, in order, while they fit READ_AHEAD_MAX_BYTES (one already open is skipped). */
  start (files: ReadonlyArray<{ readonly path: string, readonly length: number }>, open: OpenBody): void {
    let bytes = 0
    for (const a of this.#reads.values()) bytes += a.length
    for (const { path, length } of files) {
      const key = `${length} ${path}`
      if (this.#reads.has(key)) continue
      if ((bytes += length) > READ_AHEAD_MAX_BYTES) break
      const abort = new AbortController()
      // A failure is not kept: the frame's request then opens a read of its own, which may succeed (a new leader).
      const body = open(path, 0, length, abort.signal).catch(() => undefined)
      // Unused: the read ends (verified-read.ts cancels its engine read on abort) and its pieces are dropped.
      const timer = setTimeout(() => { this.#reads.delete(key); abort.abort() }, READ_AHEAD_MS)
      this.#reads.set(key, { body, length, abort, timer })
    }
  }

  /**
   * The read of the whole of `path` opened ahead, if any, handed over once: `signal` (the request's) governs it from
   * now on. It resolves with undefined if the read failed.
   */
  take (path: string, length: number, signal: AbortSignal): Promise<ReadableStream<Uint8Array> | undefined> | undefined {
    const key = `${length} ${path}`
    const a = this.#reads.get(key)
    if (a === undefined) return undefined
    this.#reads.delete(key)
    clearTimeout(a.timer)
    signal.addEventListener('abort', () => { a.abort.abort() })
    return a.body
  }
}
