/**
 * The site side of the service worker, as pure functions (no `self`, no caches: unit-tested in Node):
 *   URL -> file of the manifest (scope prefix, percent-decoding, directory index, folder redirect, traversal),
 *   file -> Response (headers, ETag / 304, a single Range -> 206, 416, HEAD, 404 page, typed failures: failurePage).
 *
 * The body comes from an injected `OpenBody` (the engine client in the worker, a fake in tests), so this file
 * knows nothing about ports or leaders.
 */
import { DOWNLOAD_PARAM, INDEX_SCRIPT, loadedIndexCode, MANIFEST_FILE, type SiteManifest } from './protocol.js'
import { matchRedirect, REDIRECTS_FILE, validRules, type RedirectRule } from './redirects.js'
import type { IndexCode } from './index-script.js'
import type { FetchSection, LazyIndex } from './site-index.js'

export interface SiteFile { readonly path: string, readonly length: number, readonly type: string }

/** A manifest prepared for lookups. */
export interface Site {
  readonly infoHash: string
  /** file path as in the manifest ("docs/guide/index.html") -> file */
  readonly files: ReadonlyMap<string, SiteFile>
  /** every folder of the file table, without a trailing slash ("docs", "docs/guide") */
  readonly dirs: ReadonlySet<string>
  /** `_redirects` rules (publish parsed them), first match wins */
  readonly redirects: readonly RedirectRule[]
  /** `publish --spa`: unknown paths get the root index.html with 200 */
  readonly spa: boolean
  /**
   * Every file of the torrent in its order, served or not (`_redirects`, paths left out above): where each file's
   * bytes start in the torrent (worker/verify.ts). Leaving one out would shift every later file.
   */
  readonly layout: ReadonlyArray<{ readonly path: string, readonly length: number }>
  /** What each page needs, as peersite.json says (indexes into `layout`): a hint, read ahead by the worker (state.ts warm). */
  readonly preload?: SiteManifest['preload']
  /**
   * A site with a sectioned index (site-index.ts): `files` and `dirs` hold the sections loaded so far, and a request
   * is resolved inside `index.ensure` (resolveLazily), which loads what the lookups need.
   */
  readonly index?: LazyIndex
}

/**
 * Opens a stream of bytes [offset, offset + length) of a site file. Resolves once the first bytes are there (so
 * a failure can still become a 504 page), rejects when no peer can deliver them.
 */
export type OpenBody = (path: string, offset: number, length: number, signal: AbortSignal) => Promise<ReadableStream<Uint8Array>>

export type Resolution =
  /** `status` 404: the site's 404 page or a `_redirects` 404 rule's file, answered with 404. */
  | { readonly kind: 'file', readonly file: SiteFile, readonly status?: 200 | 404 }
  /** `location` is absolute; the query string is kept. */
  | { readonly kind: 'redirect', readonly location: string, readonly status?: 301 | 302 | 303 | 307 | 308 }
  | { readonly kind: 'not-found' }
  /** malformed percent-encoding */
  | { readonly kind: 'bad-request' }

export const NOT_FOUND_PAGE = '404.html'
export const INDEX_PAGE = 'index.html'
/** Clean URLs: "/guide/page" serves "guide/page.html" (GitHub Pages, Netlify, Cloudflare Pages). */
const HTML_EXTENSION = '.html'

/**
 * Defined true by scripts/build-browser.mjs for the loader of a plain site (no `_redirects` rules, no --spa, no
 * sectioned index, no web seeds), which publish ships when the site has none of them (cli/lib/publish.ts isPlain): their code is left out. Undefined elsewhere.
 */
declare const PEERSITE_PLAIN: boolean | undefined

export type ManifestForSite = Pick<SiteManifest, 'infoHash' | 'files'> & Partial<Pick<SiteManifest, 'redirects' | 'spa' | 'index' | 'pieceLength' | 'length' | 'preload'>>

/**
 * Builds the lookup tables of a manifest. Paths that could never be asked for safely are left out. A manifest with a
 * sectioned index gives a site whose tables fill as its sections load: fetched below the worker's `scope`, or by a
 * given function (tests); its code must be loaded (peersite-index.js).
 */
export function createSite (manifest: ManifestForSite, scope?: string | FetchSection): Site {
  if (!(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) && manifest.index !== undefined) {
    // The index code comes with peersite-index.js (protocol.ts INDEX_SCRIPT), which such a site's sw.js imports.
    const code = loadedIndexCode<IndexCode>()
    if (code === undefined || scope === undefined) throw new Error(`no ${INDEX_SCRIPT}`)
    return code.lazySite(manifest, scope)
  }
  const files = new Map<string, SiteFile>()
  const dirs = new Set<string>()
  for (const file of manifest.files) {
    const parts = file.path.split('/')
    if (parts.some(unsafeSegment)) continue
    // Consumed by publish, not served (as on Netlify); it still travels in the torrent for `peersite serve`.
    if (file.path === REDIRECTS_FILE) continue
    files.set(file.path, file)
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'))
  }
  return { infoHash: manifest.infoHash, files, dirs, redirects: (typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) ? [] : manifest.redirects ?? [], spa: !(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) && manifest.spa === true, layout: manifest.files, preload: manifest.preload }
}

/** A decoded path segment that must never reach the file table. */
export function unsafeSegment (s: string): boolean {
  return s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0')
}

/**
 * The path of `url` relative to `scope` (both absolute), still percent-encoded, or null when the URL is not under
 * the scope (another origin, or a path outside the scope's folder).
 */
export function relativePath (url: URL, scope: URL): string | null {
  if (url.origin !== scope.origin) return null
  if (!url.pathname.startsWith(scope.pathname)) return null
  return url.pathname.slice(scope.pathname.length)
}

/** Percent-decoded segments of `rel`, or null when its encoding is malformed. */
function decodeSegments (rel: string): string[] | null {
  const segments: string[] = []
  for (const raw of rel.split('/')) {
    try {
      segments.push(decodeURIComponent(raw))
    } catch {
      return null
    }
  }
  return segments
}

/**
 * Maps a request URL to a site file, with the URL rules of GitHub Pages and Netlify. `rel` is the path below the
 * scope as it appears in the URL (percent-encoded, no leading slash). In order:
 *   1. a forced `_redirects` rule (`301!`, `200!`...);
 *   2. the file itself; "" and "dir/" mean "index.html" of that folder; "dir" (a folder) redirects to "dir/";
 *      "a/b" with no folder "a/b" serves "a/b.html" (clean URLs);
 *   3. the other `_redirects` rules (they never shadow an existing file);
 *   4. `--spa`: the root index.html with 200;
 *   5. not found (the caller serves 404.html with 404).
 * The WHATWG URL parser already removes "." and ".." segments (also "%2e%2e"), but this function is the
 * security boundary, so it refuses them again after decoding, along with encoded slashes, backslashes and NUL:
 * the answer is only ever a file of the table (or a redirect).
 */
export function resolveFile (site: Site, rel: string, url: URL): Resolution {
  const segments = decodeSegments(rel)
  if (segments === null) return { kind: 'bad-request' }
  // The scope as the URL spells it: rules' paths and targets are relative to the site root. (A plain build has no rules.)
  const scope = (typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) ? url : new URL(url.pathname.slice(0, url.pathname.length - rel.length), url)
  const forced = applyRule(site, segments, url, scope, true)
  if (forced !== undefined) return forced
  const found = lookup(site, segments, url, false)
  if (found !== undefined) return found
  const rule = applyRule(site, segments, url, scope, false)
  if (rule !== undefined) return rule
  const index = (typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) || !site.spa ? undefined : site.files.get(INDEX_PAGE)
  if (index !== undefined) return { kind: 'file', file: index }
  return { kind: 'not-found' }
}

/**
 * resolveFile for any site: with a sectioned index, the sections its lookups need (and the 404 page's, when the
 * answer is "not found") are loaded first, so siteResponse then finds everything in memory.
 */
export async function resolveLazily (site: Site, rel: string, url: URL): Promise<Resolution> {
  if ((typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) || site.index === undefined) return resolveFile(site, rel, url)
  return await site.index.ensure(() => {
    const found = resolveFile(site, rel, url)
    if (found.kind === 'not-found') site.files.get(NOT_FOUND_PAGE)
    return found
  })
}

/**
 * The static lookup of decoded `segments`: the file, a folder's index page, the folder redirect, the clean URL.
 * In a rewrite (`inRewrite`) a folder serves its index page instead of redirecting (the URL is not the folder's).
 */
function lookup (site: Site, segments: readonly string[], url: URL, inRewrite: boolean): Resolution | undefined {
  const parts = [...segments]
  // A trailing slash (or the scope root itself) leaves one empty last segment: the folder's index page.
  const last = parts.length - 1
  const slash = parts[last] === ''
  if (slash) parts[last] = INDEX_PAGE
  if (parts.some(unsafeSegment)) return undefined
  const path = parts.join('/')
  const file = site.files.get(path)
  if (file !== undefined) return { kind: 'file', file }
  if (site.dirs.has(path)) {
    if (inRewrite) {
      const index = site.files.get(`${path}/${INDEX_PAGE}`)
      return index !== undefined ? { kind: 'file', file: index } : undefined
    }
    // RFC 9110 §15.4.2: 301 to the folder URL, so relative links inside its index page resolve against it.
    return { kind: 'redirect', location: new URL(`${url.pathname}/${url.search}`, url).href }
  }
  if (!slash) {
    const html = site.files.get(path + HTML_EXTENSION)
    if (html !== undefined) return { kind: 'file', file: html }
  }
  return undefined
}

/** The first `_redirects` rule (forced or not) for this path (decoded `segments`), as a resolution. */
function applyRule (site: Site, segments: readonly string[], url: URL, scope: URL, forced: boolean): Resolution | undefined {
  if ((typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) || site.redirects.length === 0) return undefined
  const match = matchRedirect(site.redirects, segments, forced)
  if (match === undefined) return undefined
  const { rule, target } = match
  // Only a rule written as an http(s) URL leaves the site. A path target is resolved below the scope, its leading
  // slashes dropped ("/\host" names no host, "javascript:" no scheme), and must stay there (its origin and folder:
  // ".." in the rule), or the rule does not apply.
  const absolute = /^https?:\/\//i.test(rule.to)
  let location: URL
  try {
    location = absolute ? new URL(target) : new URL('./' + target.replace(/^[/\\]+/, ''), scope)
  } catch {
    return { kind: 'not-found' }
  }
  const targetRel = relativePath(location, scope)
  if ((!absolute && targetRel === null) || !/^https?:$/.test(location.protocol)) return { kind: 'not-found' }
  if (rule.status === 200 || rule.status === 404) {
    // A rewrite: the target's file from the table (never the rules again, so rewrites cannot loop).
    const targetSegments = targetRel === null ? null : decodeSegments(targetRel)
    const found = targetSegments === null ? undefined : lookup(site, targetSegments, location, true)
    if (found?.kind !== 'file') return { kind: 'not-found' }
    return rule.status === 404 ? { kind: 'file', file: found.file, status: 404 } : found
  }
  // A redirect: the query string goes along unless the target has its own (Netlify passes it through).
  if (location.search === '' && url.search !== '') location.search = url.search
  return { kind: 'redirect', location: location.href, status: rule.status }
}

/** Types whose text the browser must decode as UTF-8 (the bytes come from a torrent, not a server that says so). */
const TEXT_TYPES = new Set(['text/html', 'text/css', 'text/javascript', 'application/javascript', 'application/json', 'text/plain'])

export function contentType (type: string): string {
  const t = type.trim() === '' ? 'application/octet-stream' : type.trim()
  const base = (t.split(';')[0] ?? '').trim().toLowerCase()
  if (TEXT_TYPES.has(base) && !/;\s*charset=/i.test(t)) return `${t}; charset=utf-8`
  return t
}

/**
 * One encoder for every hash (constructing a TextEncoder per call was most of publish's index time on 10,000 files),
 * and one decoder for every ETag.
 */
const UTF8 = new TextEncoder()
const FROM_UTF8 = /* @__PURE__ */ new TextDecoder()

/** FNV-1a (32 bits) of a string's UTF-8 bytes: the bucket of a path (site-index.ts). */
export function fnv1a32 (s: string): number {
  let h = 0x811c9dc5
  for (const byte of UTF8.encode(s)) {
    h ^= byte
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * A strong ETag: the infohash names the whole published version (a new publish is a new infohash), the path, percent-
 * encoded (header-safe: no quote, comma or byte outside ASCII), the file in it. Made well-formed first: a manifest's
 * path is any JSON string, and encodeURIComponent throws on a lone surrogate. Through UTF-8 and back, a lone
 * surrogate becomes U+FFFD (as String.prototype.toWellFormed does, but that is ES2024: Chromium 111, Firefox 119,
 * and these builds target ES2022, which Firefox ESR 115 and Chromium 103-110 run).
 */
export function etagOf (site: Site, path: string): string {
  return `"${site.infoHash}-${encodeURIComponent(FROM_UTF8.decode(UTF8.encode(path)))}"`
}

/** RFC 9110 §13.1.2: If-None-Match uses the weak comparison; "*" matches any current representation. */
export function noneMatch (header: string | null, etag: string): boolean {
  if (header === null) return false
  const strip = (t: string): string => t.trim().replace(/^W\//, '')
  const want = strip(etag)
  return header.split(',').some((t) => t.trim() === '*' || strip(t) === want)
}

export type RangeResult =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial', readonly start: number, readonly end: number }
  | { readonly kind: 'unsatisfiable' }

const DIGITS = /^\d*$/

/**
 * A `Range` header against a file of `size` bytes (RFC 9110 §14.2). Only a single byte range is honoured
 * (bytes=a-b, bytes=a-, bytes=-n, clamped to the file); a malformed header, another unit or several ranges are
 * ignored (a full 200 is always allowed, §14.2), as is a Range under an If-Range that does not match our strong
 * ETag. (Written here rather than taken from `range-parser`, which answers a suffix longer than the file with
 * "unsatisfiable" where §14.1.2 says "the entire representation", and whose unit is case-sensitive; this file is
 * also bundled into sw.js, under the loader's 40 KB budget. test/unit/fuzz/site.test.ts checks it against a
 * reference model.)
 */
export function parseRangeHeader (header: string | null, size: number, ifRange: string | null = null, etag = ''): RangeResult {
  if (header === null || size === 0) return { kind: 'full' }
  // If-Range with a date cannot match: we send no Last-Modified. With an ETag, the comparison is strong.
  if (ifRange !== null && ifRange.trim() !== etag) return { kind: 'full' }
  // One range-spec: int-range ("a-b", "a-") or suffix-range ("-n") (RFC 9110 §14.1.2); the unit is
  // case-insensitive. A comma means several ranges: ignored. Whitespace around the tokens is tolerated.
  // Split at the first '=' and '-' and trimmed, never one regular expression: adjacent optional-whitespace groups
  // backtrack quadratically (15,000 spaces in a header cost 84 ms per request); this is linear in the header.
  const eq = header.indexOf('=')
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'full' }
  const spec = header.slice(eq + 1)
  const dash = spec.indexOf('-')
  if (dash < 0) return { kind: 'full' }
  const first = spec.slice(0, dash).trim()
  const last = spec.slice(dash + 1).trim()
  if (!DIGITS.test(first) || !DIGITS.test(last) || (first === '' && last === '')) return { kind: 'full' }
  if (first === '') {
    // A suffix longer than the file means the whole file; "-0" selects nothing.
    const n = Number(last)
    return n === 0 ? { kind: 'unsatisfiable' } : { kind: 'partial', start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(first)
  const end = last === '' ? size - 1 : Number(last)
  // §14.1.1: last < first makes the range-spec invalid; §14.1.2: a first-pos past the end is unsatisfiable.
  if (end < start || start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'partial', start, end: Math.min(end, size - 1) }
}

/**
 * The file name a request asks to download the file as (`?peersite-download=NAME`, set by the shell for links with
 * the `download` attribute), or null for an ordinary request. An empty name means the file's own name. Path
 * separators and control characters are replaced: the browser sanitizes the name too, but the header must stay
 * one clean line.
 */
export function downloadName (url: URL, file: SiteFile): string | null {
  const asked = url.searchParams.get(DOWNLOAD_PARAM)
  if (asked === null) return null
  const clean = asked.replace(/[\u0000-\u001f\u007f/\\]/g, '_').trim()
  return clean !== '' ? clean : (file.path.split('/').pop() ?? file.path)
}

/**
 * `Content-Disposition: attachment` with `name` (RFC 6266): an ASCII `filename` for old clients and the exact name
 * as `filename*` in RFC 8187's UTF-8 percent-encoding (every byte outside attr-char encoded).
 */
export function contentDisposition (name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`
}

/** A worker response's headers (the shell's too): its type, no sniffing, revalidated every time. */
export function baseHeaders (type: string): Headers {
  return new Headers({
    'Content-Type': type,
    'X-Content-Type-Options': 'nosniff',
    // Revalidate every time: cheap (a 304 from the worker) and a new publish must show at once.
    'Cache-Control': 'no-cache'
  })
}

function escapeHtml (s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** A small HTML page for the worker's own answers (no site page exists for them). */
export function messagePage (status: number, title: string, text: string, headers: Record<string, string> = {}): Response {
  const h = baseHeaders('text/html; charset=utf-8')
  h.set('Cache-Control', 'no-store')
  for (const [k, v] of Object.entries(headers)) h.set(k, v)
  const body = `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title>` +
    `<body style="font:16px system-ui,sans-serif;margin:2rem"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body>`
  return new Response(body, { status, headers: h })
}

/**
 * The answer when a file's bytes could not be served (worker/engine-client.ts EngineReadError.kind): a file the
 * engine does not have 404, a range outside it 416, pieces that failed verification 502, no peer or no engine in
 * time (and anything untyped) 504 with the reason.
 */
export function failurePage (err: unknown, path: string, size: number): Response {
  const kind = (err as { kind?: unknown } | null)?.kind
  const reason = err instanceof Error ? err.message : String(err)
  switch (kind) {
    case 'not-found':
      return messagePage(404, 'Not found', reason)
    case 'range':
      return messagePage(416, 'Range Not Satisfiable', reason, { 'Content-Range': `bytes */${size}` })
    case 'verification':
      return messagePage(502, 'This file failed verification', `${reason}: not shown. Reload to fetch it again.`)
    default:
      // 'stall', 'unavailable', and untyped errors (the `serve` gateway's reads, site.torrent unreadable)
      return messagePage(504, 'No peer could deliver this file', `${reason}. Keep this tab open and reload in a moment: peers come and go.`)
  }
}

/**
 * The response for one file of the site: headers, conditional and range handling, and a streamed body.
 * `status` is 200 for the file asked for, 404 when it is the site's 404 page (then no ETag, 304 or Range:
 * those describe the representation of the URL, and the 404 page is not it).
 */
export async function fileResponse (request: Request, site: Site, file: SiteFile, open: OpenBody, status: 200 | 404 = 200): Promise<Response> {
  const headers = baseHeaders(contentType(file.type))
  const size = file.length
  if (status === 200) {
    const etag = etagOf(site, file.path)
    headers.set('ETag', etag)
    headers.set('Accept-Ranges', 'bytes')
    const name = downloadName(new URL(request.url), file)
    if (name !== null) headers.set('Content-Disposition', contentDisposition(name))
    if (noneMatch(request.headers.get('If-None-Match'), etag)) {
      headers.delete('Content-Type')
      return new Response(null, { status: 304, headers })
    }
    // RFC 9110 §14.2: Range is defined for GET only; HEAD gets the full representation's headers.
    const range = request.method === 'GET'
      ? parseRangeHeader(request.headers.get('Range'), size, request.headers.get('If-Range'), etag)
      : { kind: 'full' as const }
    if (range.kind === 'unsatisfiable') {
      headers.set('Content-Range', `bytes */${size}`)
      headers.set('Content-Type', 'text/plain; charset=utf-8')
      return new Response('Range Not Satisfiable', { status: 416, headers })
    }
    if (range.kind === 'partial') {
      const length = range.end - range.start + 1
      headers.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`)
      headers.set('Content-Length', String(length))
      return body(request, file, range.start, length, open, 206, headers)
    }
  }
  headers.set('Content-Length', String(size))
  return body(request, file, 0, size, open, status, headers)
}

async function body (request: Request, file: SiteFile, offset: number, length: number, open: OpenBody, status: number, headers: Headers): Promise<Response> {
  // HEAD and empty files never wake the engine.
  if (request.method === 'HEAD' || length === 0) return new Response(null, { status, headers })
  let stream: ReadableStream<Uint8Array>
  try {
    stream = await open(file.path, offset, length, request.signal)
  } catch (err) {
    if (request.signal.aborted) throw err
    return failurePage(err, file.path, file.length)
  }
  return new Response(stream, { status, headers })
}

/** The whole site answer for a request whose path below the scope is `rel`. */
export async function siteResponse (request: Request, url: URL, rel: string, site: Site, open: OpenBody): Promise<Response> {
  const res = await siteAnswer(request, url, rel, site, open)
  // HEAD: the same status and headers, never a body (the worker's own pages have one).
  return request.method === 'HEAD' && res.body !== null ? new Response(null, { status: res.status, headers: res.headers }) : res
}

async function siteAnswer (request: Request, url: URL, rel: string, site: Site, open: OpenBody): Promise<Response> {
  let found: Resolution
  // A plain site's table is all in memory: resolveFile does not throw.
  if (typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) found = resolveFile(site, rel, url)
  else {
    try {
      found = await resolveLazily(site, rel, url)
    } catch (err) {
      // A section that is missing on the host, or that does not match peersite.json (site-index.ts): nothing served.
      return messagePage(503, 'Site index unavailable', String(err))
    }
  }
  switch (found.kind) {
    case 'file':
      return await fileResponse(request, site, found.file, open, found.status ?? 200)
    case 'redirect':
      return redirectResponse(request, url, found.location, found.status ?? 301)
    case 'bad-request':
      return messagePage(400, 'Bad request', 'The address is not correctly percent-encoded.')
    case 'not-found': {
      const page = site.files.get(NOT_FOUND_PAGE)
      if (page !== undefined) return await fileResponse(request, site, page, open, 404)
      return messagePage(404, 'Not found', 'This site has no page at this address.')
    }
  }
}

/**
 * A redirect. On a plain host a redirect to another site (a `_redirects` rule may name one) replaces the whole
 * window; in peersite the page lives in the shell's frame, where the other site could not be shown (it may refuse
 * framing) nor mirrored, so a frame navigation gets a page that replaces the top window's address instead.
 */
function redirectResponse (request: Request, url: URL, location: string, status: number): Response {
  // A plain site redirects only to its own folders (a trailing slash added): never to another origin.
  const target = new URL(location)
  // Only http(s) leaves a page (applyRule gives nothing else; this page must never run "javascript:" in the top window).
  if (!(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) && !/^https?:$/.test(target.protocol)) return messagePage(502, 'Bad redirect', 'This site\'s redirect rule names an address that is not a web page.')
  if (!(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) && target.origin !== url.origin && request.mode === 'navigate' && request.destination === 'iframe') {
    const headers = baseHeaders('text/html; charset=utf-8')
    headers.set('Cache-Control', 'no-store')
    const script = JSON.stringify(target.href).replace(/</g, '\\u003c')
    return new Response(`<!doctype html><meta charset="utf-8"><title>Redirecting</title><script>top.location.replace(${script})</script>` +
      `<p>This page moved to <a href="${escapeHtml(target.href)}" target="_top">${escapeHtml(target.href)}</a>.</p>`, { status: 200, headers })
  }
  return new Response(null, { status, headers: { Location: location, 'Cache-Control': 'no-cache' } })
}

/** Checks peersite.json (fetched from the static host, so only its shape is in doubt). Throws on a bad one. */
export function parseManifest (json: unknown): SiteManifest {
  const m = json as Partial<SiteManifest> | null
  const ok = typeof m === 'object' && m !== null && m.version === 1 && typeof m.infoHash === 'string' && m.infoHash !== '' &&
    Array.isArray(m.files) && m.files.every((f) => typeof f === 'object' && f !== null && typeof f.path === 'string' &&
      Number.isSafeInteger(f.length) && f.length >= 0 && typeof f.type === 'string') &&
    ((typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) || m.redirects === undefined || validRules(m.redirects)) && (m.spa === undefined || typeof m.spa === 'boolean') &&
    // A sectioned index: its sections are checked as they load (site-index.ts); here its shape and the layout.
    ((typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) || m.index === undefined || (Array.isArray(m.index.sections) && m.index.sections.length > 0 && (m.pieceLength ?? 0) > 0 && Number.isSafeInteger(m.length)))
  if (!ok) throw new TypeError(`${MANIFEST_FILE} is not a peersite manifest (version 1)`)
  return m as SiteManifest
}
