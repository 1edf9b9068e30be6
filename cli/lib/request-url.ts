/** The request target of an HTTP server (`peersite serve`, `peersite gateway`), parsed without trusting it. */

/**
 * The request target as a URL on `base` (the listening address). An origin-form target ("/path?query") is taken as a
 * path even when it starts with "//" (which a URL parser would read as another host); an absolute-form target
 * (RFC 9112 §3.2.2, "http://host/path") keeps only its path and query. Undefined when it cannot be parsed.
 */
export function requestUrl (target: string | undefined, base: string): URL | undefined {
  try {
    if (target === undefined || target === '') return new URL('/', base)
    if (target.startsWith('/')) return new URL(base + target)
    const absolute = new URL(target)
    return new URL(absolute.pathname + absolute.search, base)
  } catch {
    return undefined
  }
}
