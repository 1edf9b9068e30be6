/**
 * Netlify's `_redirects` file, the common subset, as pure functions shared by `publish` (which parses the file and
 * ships the rules in peersite.json), the service worker and `peersite serve` (which match them).
 *
 * One rule per line: `FROM TO [STATUS[!]]`, `#` starts a comment (https://docs.netlify.com/routing/redirects/).
 *   FROM   a path below the site root: literal segments, `:name` placeholders (one whole segment) and a final `*`
 *          (the rest of the path, possibly empty, available as `:splat`). Matched against the percent-decoded path
 *          (the one the file table is looked up with: `/%64rafts/` is `/drafts/`, `/caf%C3%A9` is `/café`), segment
 *          by segment, case-sensitively, with or without a trailing slash (as Netlify does).
 *   TO     a path below the site root (`/x`, never `//x` or `/\x`) with the placeholders substituted, each value
 *          percent-encoded again segment by segment (a value is only ever path segments, never a scheme, a host or
 *          a query, and the worker drops a rule whose target is not below the site root), or an absolute http(s) URL
 *          (redirects only): the only way a rule leaves the site.
 *   STATUS 301 (default), 302, 303, 307, 308: a redirect; 200: a rewrite (the URL stays, TO's file is served);
 *          404: TO's file with status 404. `!` (force) applies the rule even when a file exists at FROM; without it
 *          a rule only applies where the site has no file ("shadowing", Netlify's default).
 * The first matching rule wins. A rewrite's TO is looked up in the file table only, never in the rules again, so
 * rewrites cannot loop; redirect loops are the browser's to stop (as on Netlify).
 *
 * Not supported (a warning names the line and the rule is left out, which is what Netlify's build does with the
 * lines it cannot parse): query-parameter matching, conditions (Country=, Language=, Role=, Cookie=), proxying
 * (200 to another origin: a browser cannot fetch another site for this one), domain-level FROM.
 */

import { UsageError } from '../engine/errors.js'
import { RESERVED_ROOT_FILES } from './protocol.js'

export type RedirectStatus = 200 | 301 | 302 | 303 | 307 | 308 | 404

export interface RedirectRule {
  /** "/blog/:year/*" */
  readonly from: string
  /** "/posts/:year/:splat" or "https://example.org/:splat" */
  readonly to: string
  readonly status: RedirectStatus
  /** Applies even where a file exists at `from`. */
  readonly force?: boolean
}

export interface ParsedRedirects {
  readonly rules: RedirectRule[]
  /** One line each: "_redirects line 7: ..." */
  readonly warnings: string[]
}

export const REDIRECTS_FILE = '_redirects'
/**
 * At most this many rules: they travel in peersite.json, which every visitor downloads before the first page
 * (about 50 bytes a rule). Netlify itself suggests placeholders and splats well before 10,000 rules.
 */
export const MAX_REDIRECT_RULES = 1000
/** A `_redirects` file larger than this is refused outright (it could not fit the rule limit anyway). */
export const MAX_REDIRECTS_BYTES = 262_144 // 256 KiB

const STATUSES: ReadonlySet<number> = new Set([200, 301, 302, 303, 307, 308, 404])
/** Root paths the worker hands to the static host (the loader's files): a rule there could never apply. */
const LOADER_PATHS: ReadonlySet<string> = /* @__PURE__ */ new Set(/* @__PURE__ */ RESERVED_ROOT_FILES.map((f) => `/${f}`))

/** Parses a `_redirects` file. Throws UsageError only for a file too large to ship; bad lines become warnings. */
export function parseRedirects (text: string): ParsedRedirects {
  if (text.length > MAX_REDIRECTS_BYTES) throw new UsageError(`${REDIRECTS_FILE} is larger than ${MAX_REDIRECTS_BYTES / 1024} KiB`)
  const rules: RedirectRule[] = []
  const warnings: string[] = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim()
    if (line === '' || line.startsWith('#')) continue
    const warn = (why: string): void => { warnings.push(`${REDIRECTS_FILE} line ${i + 1}: ${why} (left out): ${line}`) }
    // A comment after the rule starts at the first "#" after whitespace. Found with a pattern of two characters:
    // /\s+#.*$/ backtracked quadratically through a long run of spaces (a crafted torrent's _redirects, which the
    // gateways parse, held them for minutes).
    const hash = line.search(/\s#/)
    const result = parseLine(hash < 0 ? line : line.slice(0, hash).trimEnd())
    if (typeof result === 'string') {
      warn(result)
      continue
    }
    if (LOADER_PATHS.has(result.from)) {
      warn(`${result.from} is the loader's own file, which the site cannot redirect`)
      continue
    }
    if (result.status !== 200 && result.status !== 404 && result.from === result.to && !result.from.includes(':') && !result.from.includes('*')) {
      warn('redirects to itself')
      continue
    }
    if (rules.length >= MAX_REDIRECT_RULES) {
      throw new UsageError(`${REDIRECTS_FILE} has more than ${MAX_REDIRECT_RULES} rules: use placeholders and splats (every visitor downloads the rules first)`)
    }
    rules.push(result)
  }
  return { rules, warnings }
}

/**
 * A target `publish` accepts and the worker applies: a path below the site root (one slash: `//host` and `/\host`
 * would name another host), or an absolute http(s) URL. Everything else (`javascript:`, `data:`, `x:`...) is refused.
 */
export function validTarget (to: string): boolean {
  return /^\/(?![/\\])/.test(to) || /^https?:\/\//i.test(to)
}

/** One rule, or why the line is not one. */
function parseLine (line: string): RedirectRule | string {
  const tokens = line.split(/\s+/)
  const [from = '', to = '', statusToken, ...rest] = tokens
  if (tokens.length < 2) return 'needs a path and a target'
  if (/^https?:\/\//i.test(from)) return 'domain-level rules are not supported'
  if (!from.startsWith('/')) return `"${from}" is not a path (it must start with /)`
  if (!to.startsWith('/') && !/^https?:\/\//i.test(to) && to.includes('=')) return 'query-parameter matching is not supported'
  if (statusToken !== undefined && statusToken.includes('=')) return 'conditions (Country=, Language=, Role=...) are not supported'
  if (rest.length > 0) return rest.some((t) => t.includes('=')) ? 'conditions (Country=, Language=, Role=...) are not supported' : 'too many fields'
  const segments = from.split('/').slice(1)
  const star = segments.indexOf('*')
  if (star !== -1 && star !== segments.length - 1) return '* may only end the path'
  if (segments.some((s) => s !== '*' && s.includes('*'))) return '* must be a whole segment'
  if (segments.some((s) => s === '.' || s === '..' || s.includes('\\'))) return 'the path has . or .. segments'
  let status: RedirectStatus = 301
  let force = false
  if (statusToken !== undefined) {
    const m = /^(\d{3})(!?)$/.exec(statusToken)
    if (m === null || !STATUSES.has(Number(m[1]))) return `status "${statusToken}" is not one of 200, 301, 302, 303, 307, 308, 404 (with an optional !)`
    status = Number(m[1]) as RedirectStatus
    force = m[2] === '!'
  }
  const absolute = /^https?:\/\//i.test(to)
  if (absolute) {
    try {
      new URL(to) // eslint-disable-line no-new
    } catch {
      return `"${to}" is not a valid URL`
    }
    if (status === 200 || status === 404) return 'proxying to another site (200 or 404 to a URL) is not possible from a browser'
  } else if (!validTarget(to)) {
    return `"${to}" is neither a path (starting with one /) nor an http(s) URL`
  }
  return force ? { from, to, status, force } : { from, to, status }
}

export interface RedirectMatch {
  readonly rule: RedirectRule
  /** `to` with placeholders and the splat substituted (still a path below the root, or an absolute URL). */
  readonly target: string
}

/** `parts` without a trailing empty segment (a trailing slash: "a/b/" and "a/b" match alike). */
function withoutSlash (parts: readonly string[]): readonly string[] {
  return parts.length > 0 && parts[parts.length - 1] === '' ? parts.slice(0, -1) : parts
}

/** A literal segment of FROM, decoded as the request's are (a rule may spell `café` or `caf%C3%A9`). */
function decoded (segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/**
 * A decoded path segment percent-encoded again, the characters RFC 3986 allows in a segment (pchar) as they are:
 * `/wiki/Help:Contents` and `/pkg/@scope/x` keep their ":" and "@". "/", "?", "#", "%", "\\" and the rest stay
 * escaped, so a value cannot end its segment or the path; a path target is resolved as "./" + it (worker/site.ts),
 * where a "javascript:" value is a file name, not a scheme.
 */
const segment = (s: string): string => encodeURIComponent(s).replace(/%(3A|40|2B|2C|3B|3D|24|26)/g, decodeURIComponent)

/**
 * Placeholder values of a request path under `from`, or null when it does not match. `segments` are the path's
 * percent-decoded segments below the root ("/a/b%2Fc" gives ["a", "b/c"]); each value comes back percent-encoded
 * again (segment), segment by segment (the splat's segments joined with "/"), ready to be put into a target.
 */
export function matchPattern (from: string, segments: readonly string[]): Map<string, string> | null {
  const want = withoutSlash(from.split('/').slice(1))
  const have = withoutSlash(segments)
  const values = new Map<string, string>()
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!
    if (w === '*') {
      values.set('splat', have.slice(i).map(segment).join('/'))
      return values
    }
    const h = have[i]
    if (h === undefined) return null
    if (w.startsWith(':') && w.length > 1) {
      if (h === '') return null
      values.set(w.slice(1), segment(h))
    } else if (decoded(w) !== h) {
      return null
    }
  }
  return have.length === want.length ? values : null
}

/**
 * `to` with each `:name` replaced by its value; unknown placeholders stay as written (as on Netlify). In the query
 * string (after `to`'s "?"), a value's "&", "=", "+" and ";" are escaped again: they would split or add parameters.
 */
export function substitute (to: string, values: ReadonlyMap<string, string>): string {
  const q = to.indexOf('?')
  return to.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (whole, name: string, at: number) =>
    q < 0 || at < q ? values.get(name) ?? whole : values.get(name)?.replace(/[&=+;]/g, encodeURIComponent) ?? whole)
}

/** The first rule (of those with the given force flag) matching the decoded `segments` (matchPattern), with its target. */
export function matchRedirect (rules: readonly RedirectRule[], segments: readonly string[], forced: boolean): RedirectMatch | undefined {
  for (const rule of rules) {
    if ((rule.force === true) !== forced) continue
    const values = matchPattern(rule.from, segments)
    if (values !== null) return { rule, target: substitute(rule.to, values) }
  }
  return undefined
}

/** Checks rules read from peersite.json (from the static host): the shape and the same limits as the parser's. */
export function validRules (json: unknown): json is RedirectRule[] {
  return Array.isArray(json) && json.length <= MAX_REDIRECT_RULES && json.every((r: Partial<RedirectRule> | null) =>
    typeof r === 'object' && r !== null && typeof r.from === 'string' && r.from.startsWith('/') && typeof r.to === 'string' && validTarget(r.to) &&
    typeof r.status === 'number' && STATUSES.has(r.status) && (r.force === undefined || typeof r.force === 'boolean'))
}
