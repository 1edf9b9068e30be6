/**
 * The Node gateway of `peersite serve`: joins a torrent's swarm and serves its site over plain HTTP with the same
 * file mapping and headers as the service worker (worker/site.ts is environment-neutral and shared as-is), Range
 * included, so a browser, curl, VLC or mpv can read it (and seek) before the download is complete.
 *
 * Pieces go to an FsStore in a temporary folder removed on close: a 1 GB video never sits in memory, and what is
 * verified is seeded back to the swarm like any peer. Each HTTP request becomes a `Torrent.read` of the file's
 * bytes, pulled chunk by chunk as the socket drains (backpressure), and aborted when the client goes away (a
 * player seeking drops its connection), which drops the read's priority window in the picker at once.
 */
import { setMaxListeners } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mime from 'mime'
import { AbortError, UsageError } from '../../engine/errors.js'
import type { Metainfo, TorrentFile } from '../../engine/metainfo/index.js'
import { FsStore } from '../../engine/storage/fs.js'
import { probeNameRules } from '../../engine/storage/name-probe.js'
import { siteLabel } from '../../engine/metainfo/names.js'
import { Torrent, type TorrentComponents, type TorrentStats } from '../../engine/torrent.js'
import { WebSeeds } from '../../engine/webseed.js'
import { errorInWords } from './system-errors.js'
import { createSite, messagePage, relativePath, siteResponse, type OpenBody, type Site } from '../../worker/site.js'
import { MAX_REDIRECTS_BYTES, parseRedirects, REDIRECTS_FILE, type RedirectRule } from '../../worker/redirects.js'
import { formatBytes, formatDuration } from './format.js'
import { describeSystemError } from './system-errors.js'
import { requestUrl } from './request-url.js'
import { fsStoreOrRefusal, nodeSha1, swarmParts, type SwarmOptions } from './swarm.js'

/** Like the worker's STALL_TIMEOUT_MS: a read that gets no bytes for this long answers 504 (or is cut off). */
export const GATEWAY_STALL_TIMEOUT_MS = 60_000

export interface GatewayInit extends SwarmOptions {
  infoHash: string
  /** BEP 19 web seeds (the torrent's `url-list`, the magnet's `ws`). */
  webSeeds?: readonly string[]
  /** Known up front for a .torrent file; fetched from peers (BEP 9) otherwise. */
  metainfo?: Metainfo
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0: a free port. */
  port?: number
  /** Where the temporary piece folder goes (default: the OS temp dir). */
  tmpDir?: string
  /** No metadata, or no bytes of a read, for this long: 504 (default GATEWAY_STALL_TIMEOUT_MS). */
  stallTimeoutMs?: number
  /** Replaces the tracker discovery (unit tests connect peers by hand over the in-memory transport). */
  createDiscovery?: TorrentComponents['createDiscovery']
  /** `publish --spa` for this site: unknown paths get the root index.html with 200 (`serve --spa`). */
  spa?: boolean
  /** Called for each request once it is answered (or the client left): `peersite serve --log-requests`. */
  onRequest?: (entry: RequestLogEntry) => void
  /**
   * Metadata from peers whose file names cannot be stored here: the torrent is stopped, and every request is answered
   * 502 with the reason. Told once; without it, the reason is a warning ending in ": not served".
   */
  onRefused?: (err: Error) => void
}

/** One HTTP request as the gateway answered it: what a player asked for and what it got. */
export interface RequestLogEntry {
  method: string
  path: string
  /** The request's Range header, or null. */
  range: string | null
  status: number
  /** The answer's Content-Range (206, 416), or null. */
  contentRange: string | null
  /** From the request's arrival to the answer's headers (for a file: its first bytes were there), or null if none went out. */
  headersMs: number | null
  /** Body bytes handed to the socket. */
  sent: number
  /** From the request's arrival to the end of the answer (or the client leaving). */
  ms: number
  /** False when the connection closed before the whole answer was written (a player seeking, or a stalled read). */
  complete: boolean
}

export interface Gateway {
  /** http://HOST:PORT/ */
  readonly url: string
  readonly port: number
  readonly torrent: Torrent
  /** The folder pieces are stored in; removed by close(). */
  readonly storeDir: string
  stats (): TorrentStats
  close (): Promise<void>
}

export async function startGateway (init: GatewayInit): Promise<Gateway> {
  const host = init.host ?? '127.0.0.1'
  const stallMs = init.stallTimeoutMs ?? GATEWAY_STALL_TIMEOUT_MS
  const tmp = init.tmpDir ?? tmpdir()
  let storeDir: string
  try {
    storeDir = await mkdtemp(join(tmp, 'peersite-serve-'))
  } catch (err) {
    throw describeSystemError(err, `create a temporary folder in ${tmp}${init.tmpDir === undefined ? ' (TMPDIR)' : ''}`)
  }
  // How the temporary folder's file system compares names, asked once (a probe file in peersite's own folder).
  const names = init.platform ?? probeNameRules(storeDir)
  let torrent: Torrent
  /** Aborted, with the reason, when this site is not served (its file names, from peers): every request is ended. */
  const refusal = new AbortController()
  // Each request in flight listens on it (removed when it closes): many at once are no leak, so no warning.
  setMaxListeners(0, refusal.signal)
  try {
    const parts = init.createDiscovery !== undefined ? { createDiscovery: init.createDiscovery } : swarmParts(init)
    torrent = new Torrent({
      // Known metainfo: a store this platform cannot make throws here, to the caller. From peers: warned and stopped.
      createStore: (m) => init.metainfo !== undefined
        ? new FsStore({ pieceLength: m.pieceLength, length: m.length, root: storeDir, files: m.files, site: siteLabel(m), names })
        : fsStoreOrRefusal(m, storeDir, names, (err) => {
          refusal.abort(err)
          if (init.onRefused !== undefined) init.onRefused(err)
          else init.onWarning?.(`${err.message}: not served`)
          setImmediate(() => { void torrent.destroy() })
        }),
      createDiscovery: parts.createDiscovery,
      sha1: nodeSha1
    }, {
      infoHash: init.infoHash,
      ...(init.metainfo !== undefined ? { metainfo: init.metainfo } : {}),
      ...('pex' in parts && parts.pex !== undefined ? { pex: parts.pex } : {})
    })
  } catch (err) {
    await rm(storeDir, { recursive: true, force: true })
    throw err
  }
  torrent.on('warning', (err) => init.onWarning?.(errorInWords(err)))
  // Web seeds serve what a request waits for and no peer delivers in time; never the background.
  if (init.webSeeds !== undefined && init.webSeeds.length > 0) new WebSeeds(torrent, { urls: init.webSeeds })

  let site: Promise<{ site: Site, files: Map<string, TorrentFile> }> | undefined
  const siteOf = async (m: Metainfo): Promise<{ site: Site, files: Map<string, TorrentFile> }> => {
    site ??= (async () => {
      // The manifest `publish` writes, rebuilt from the torrent: same paths, same types, so the same headers, and
      // the same URL rules: the site's `_redirects` (verified bytes from the swarm) through publish's parser.
      const redirects = await readRedirectRules(torrent, m, stallMs, init.onWarning)
      return {
        site: createSite({ infoHash: m.infoHash, files: manifestFiles(m), redirects, spa: init.spa === true }),
        files: new Map(m.files.map((f) => [f.path, f]))
      }
    })()
    // A failed read of `_redirects` (no peer in time) is tried again by the next request.
    site.catch(() => { site = undefined })
    return await site
  }

  const open = (files: Map<string, TorrentFile>): OpenBody => async (path, offset, length, signal) => {
    const file = files.get(path)
    if (file === undefined) throw new Error(`no file ${path} in the torrent`)
    return await readStream(torrent, file.offset + offset, length, signal, stallMs)
  }

  /**
   * The answer to one request, not yet written. Rejects once `signal` aborts (the client left, or the site was
   * refused): what was awaited then is no longer wanted, and handle() decides what, if anything, is sent instead.
   */
  const answer = async (req: IncomingMessage, url: URL | undefined, signal: AbortSignal): Promise<Response> => {
    if (url === undefined) return messagePage(400, 'Bad request', 'The address could not be parsed.')
    // A browser fetching a service worker script says so (Service Workers §"Service-Worker" header). The gateway
    // has no worker of its own, and a site's file installed as one would control this origin, so every later site
    // served on this port, for good: refuse (the --local static server does the same).
    if (req.headers['service-worker'] !== undefined) return messagePage(403, 'Not a service worker', 'This gateway does not serve service worker scripts.')
    if (req.method !== 'GET' && req.method !== 'HEAD') return messagePage(405, 'Method not allowed', 'This gateway only answers GET and HEAD.', { Allow: 'GET, HEAD' })
    let metainfo: Metainfo
    try {
      metainfo = await abortable((s) => torrent.ready(s), signal, stallMs)
    } catch (err) {
      if (signal.aborted) throw err
      return messagePage(504, 'No metadata yet', 'No peer has sent this torrent\'s metadata yet. Try again in a moment.')
    }
    let prepared: Awaited<ReturnType<typeof siteOf>>
    try {
      // Reading `_redirects` may wait for peers: a refusal (or the client leaving) ends this request's wait.
      prepared = await abortable(async () => await siteOf(metainfo), signal)
    } catch (err) {
      if (signal.aborted) throw err
      return messagePage(504, 'No peer could deliver _redirects', 'The site\'s redirect rules could not be read from peers yet. Try again in a moment.')
    }
    const request = new Request(url, { method: req.method, headers: requestHeaders(req), signal })
    const response = await siteResponse(request, url, relativePath(url, new URL('/', url)) ?? '', prepared.site, open(prepared.files))
    return relativeRedirect(response, url.origin)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse, base: string, written: Written): Promise<void> => {
    const controller = new AbortController()
    // The client went away (a player seeking, curl interrupted) before the answer was complete: cancel the read.
    res.once('close', () => { if (!res.writableFinished) controller.abort(new AbortError('client disconnected')) })
    // A refused site answers at once, and a request waiting for it stops waiting (until the answer is written).
    res.once('close', follow(controller, refusal.signal))
    let response: Response | undefined
    try {
      response = await answer(req, requestUrl(req.url, base), controller.signal)
    } catch (err) {
      if (!controller.signal.aborted) throw err
    }
    // The one place a stopped request is settled: a refused site's reason replaces whatever answer was ready, and a
    // client that left gets nothing.
    if (refusal.signal.aborted) {
      await response?.body?.cancel().catch(() => {})
      response = messagePage(502, 'Not served', `This site cannot be served here: ${(refusal.signal.reason as Error).message}.`)
    }
    if (response !== undefined) await send(res, response, written)
  }

  const server = createServer((req, res) => {
    const path = req.url ?? '/'
    const started = performance.now()
    const written: Written = { sent: 0, contentRange: null, headersAt: null }
    res.on('close', () => {
      init.onRequest?.({
        method: req.method ?? 'GET',
        path,
        range: req.headers.range ?? null,
        status: res.statusCode,
        contentRange: written.contentRange,
        headersMs: written.headersAt === null ? null : written.headersAt - started,
        sent: written.sent,
        ms: performance.now() - started,
        complete: res.writableFinished
      })
    })
    // The Host header is the client's word: it never reaches an answer (redirects within the site are relative), so
    // the URL is parsed against the listening address.
    handle(req, res, `http://${urlHost}:${port}`, written).catch((err: unknown) => {
      init.onWarning?.(`serving ${path}: ${(err as Error).message}`)
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' })
        written.headersAt = performance.now()
        res.end('internal error\n')
      } else {
        res.destroy()
      }
    })
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') reject(new UsageError(`port ${init.port ?? 0} on ${host} is already in use`))
        else if (err.code === 'EACCES') reject(new UsageError(`not allowed to listen on port ${init.port ?? 0} on ${host}`))
        else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new UsageError(`cannot listen on ${host}: no such local address`))
        else reject(describeSystemError(err, `listen on ${host}`))
      })
      server.listen(init.port ?? 0, host, () => resolve())
    })
  } catch (err) {
    await torrent.destroy()
    await rm(storeDir, { recursive: true, force: true })
    throw err
  }
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host

  let closed: Promise<void> | undefined
  const close = async (): Promise<void> => {
    closed ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await torrent.destroy()
      await rm(storeDir, { recursive: true, force: true, maxRetries: 3 })
    })()
    await closed
  }
  init.signal?.addEventListener('abort', () => { void close() }, { once: true })
  return { url: `http://${urlHost}:${port}/`, port, torrent, storeDir, stats: () => torrent.stats(), close }
}

/**
 * One line of `peersite serve --log-requests`:
 *   GET /media/clip.mp4 Range: bytes=12582912- -> 206 bytes 12582912-25159214/25159215 after 310 ms, 1.20 MB in 850 ms (closed early)
 */
export function formatRequestLog (e: RequestLogEntry): string {
  const range = e.range !== null ? ` Range: ${e.range}` : ''
  const answer = e.headersMs === null
    ? 'no answer'
    : `${e.status}${e.contentRange !== null ? ` ${e.contentRange}` : ''} after ${formatDuration(e.headersMs)}`
  const early = e.complete ? '' : ' (closed early)'
  return `${e.method} ${e.path}${range} -> ${answer}, ${formatBytes(e.sent)} in ${formatDuration(e.ms)}${early}`
}

/** The file table as `publish` writes it into peersite.json (worker/protocol.ts SiteManifest.files). */
export function manifestFiles (metainfo: Metainfo): Array<{ path: string, length: number, type: string }> {
  return metainfo.files.map((f) => ({ path: f.path, length: f.length, type: mime.getType(f.path) ?? 'application/octet-stream' }))
}

/**
 * The rules of the site's `_redirects` file, read from the swarm and parsed as `publish` does (bad lines are left
 * out with a warning). The torrent carries the file, so a gateway given only a magnet applies the same rules as the
 * worker, which reads them from peersite.json.
 */
export async function readRedirectRules (torrent: Torrent, metainfo: Metainfo, stallMs: number, onWarning?: (message: string) => void): Promise<RedirectRule[]> {
  const file = metainfo.files.find((f) => f.path === REDIRECTS_FILE)
  if (file === undefined || file.length === 0) return []
  if (file.length > MAX_REDIRECTS_BYTES) {
    onWarning?.(`${REDIRECTS_FILE} is larger than ${MAX_REDIRECTS_BYTES / 1024} KiB: ignored`)
    return []
  }
  const stream = await readStream(torrent, file.offset, file.length, new AbortController().signal, stallMs)
  const text = new TextDecoder().decode(await new Response(stream).arrayBuffer())
  try {
    const { rules, warnings } = parseRedirects(text)
    for (const w of warnings) onWarning?.(w)
    return rules
  } catch (err) {
    onWarning?.(`${(err as Error).message}: ignored`)
    return []
  }
}

/**
 * `Torrent.read` as a pull-based stream: one verified chunk (at most a piece) is produced per pull, so a paused
 * player holds back the read instead of the gateway buffering the file. Resolves once the first chunk is there
 * (so the caller can still answer 504); rejects when nothing arrives within `stallMs`. A later stall errors the
 * stream (the client sees a cut-off response and retries with a Range). Cancelling the stream or aborting `signal`
 * ends the read and its priority.
 */
export async function readStream (torrent: Torrent, offset: number, length: number, signal: AbortSignal, stallMs: number): Promise<ReadableStream<Uint8Array>> {
  const controller = new AbortController()
  const unfollow = follow(controller, signal)
  const iterator = torrent.read(offset, length, controller.signal)
  const stop = (): void => {
    unfollow()
    controller.abort(new AbortError('read ended'))
    void iterator.return(undefined).catch(() => {})
  }
  const next = async (): Promise<IteratorResult<Uint8Array>> => {
    const timer = setTimeout(() => controller.abort(new AbortError(`no bytes for ${stallMs} ms`)), stallMs)
    try {
      return await iterator.next()
    } finally {
      clearTimeout(timer)
    }
  }
  let first: IteratorResult<Uint8Array>
  try {
    first = await next()
  } catch (err) {
    stop()
    throw err
  }
  return new ReadableStream<Uint8Array>({
    start (stream) {
      if (first.done === true) {
        stop()
        stream.close()
      } else {
        stream.enqueue(first.value)
      }
    },
    async pull (stream) {
      try {
        const result = await next()
        if (result.done === true) {
          stop()
          stream.close()
        } else {
          stream.enqueue(result.value)
        }
      } catch (err) {
        stop()
        throw err
      }
    },
    cancel () { stop() }
  })
}

/** The request headers that matter for the answer (Range, If-Range, If-None-Match...), as a fetch Headers. */
function requestHeaders (req: IncomingMessage): Headers {
  const headers = new Headers()
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    try {
      headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
    } catch {
      // A header fetch refuses (invalid characters): not one the site answer reads.
    }
  }
  return headers
}

/** What `send` wrote, for the request log (writeHead's headers cannot be read back with getHeader). */
interface Written { sent: number, contentRange: string | null, headersAt: number | null }

/** Writes a fetch Response to a Node response: status, headers, then the body as the socket drains. */
async function send (res: ServerResponse, response: Response, written: Written): Promise<void> {
  if (res.destroyed) {
    await response.body?.cancel().catch(() => {})
    return
  }
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => { headers[name] = value })
  written.contentRange = response.headers.get('content-range')
  res.writeHead(response.status, headers)
  written.headersAt = performance.now()
  const body = response.body
  if (body === null) {
    res.end()
    return
  }
  const reader = body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (res.destroyed) break
      written.sent += value.byteLength
      if (!res.write(value)) await drained(res)
    }
    if (res.destroyed) await reader.cancel().catch(() => {})
    else res.end()
  } catch {
    // The read failed after the headers went out (stalled swarm, client gone): cut the connection, so the
    // client sees a short body rather than a complete-looking wrong one.
    await reader.cancel().catch(() => {})
    res.destroy()
  }
}

async function drained (res: ServerResponse): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.once('drain', done)
    res.once('close', done)
  })
}

/**
 * What `run` resolves to, given a signal that aborts when `outer` does or after `ms` (if given). The wait ends then
 * even if `run` does not heed its signal: a promise several requests share is not ended by one of them leaving.
 */
async function abortable<T> (run: (signal: AbortSignal) => Promise<T>, outer: AbortSignal, ms?: number): Promise<T> {
  const controller = new AbortController()
  const unfollow = follow(controller, outer)
  const timer = ms === undefined ? undefined : setTimeout(() => controller.abort(new AbortError(`timed out after ${ms} ms`)), ms)
  try {
    controller.signal.throwIfAborted()
    // Its listener is on this call's own signal, which nothing holds once the call is over.
    const aborted = new Promise<never>((_resolve, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true })
    })
    return await Promise.race([run(controller.signal), aborted])
  } finally {
    clearTimeout(timer)
    unfollow()
  }
}

/** Aborts `controller` with `signal`'s reason when `signal` aborts (at once if it has); returns the undo. */
function follow (controller: AbortController, signal: AbortSignal): () => void {
  const onAbort = (): void => controller.abort(signal.reason)
  if (signal.aborted) onAbort()
  else signal.addEventListener('abort', onAbort, { once: true })
  return () => signal.removeEventListener('abort', onAbort)
}

/**
 * A redirect from the site mapping (a folder to its index, RFC 9110 §15.4.2, or a `_redirects` rule) with its
 * Location made relative to the origin ("/docs/") when it points at the listening address `origin`, as RFC 9110
 * §10.2.2 allows: the client stays on the host it asked for, and nothing the client sent is reflected. Leading
 * slashes are collapsed so the path cannot read as "//other-host". A rule's absolute URL to another site
 * (`/shop/* https://shop.example/:splat`) stays absolute: it is the rule's, not the client's.
 */
export function relativeRedirect (response: Response, origin: string): Response {
  const location = response.headers.get('location')
  if (location === null) return response
  let target: URL
  try {
    target = new URL(location)
  } catch {
    return response
  }
  if (target.origin !== origin) return response
  const headers = new Headers(response.headers)
  headers.set('Location', target.pathname.replace(/^[/\\]+/, '/') + target.search)
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers })
}
