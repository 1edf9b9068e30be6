/**
 * What a visitor may paste on a gateway's front page, or put after its `/#` or `/`: an infohash (40 hex digits, or
 * the 32-character base32 form magnets may carry, BEP 9), a site id (engine/util/site-id.ts), a magnet link
 * (`xt=urn:btih:…`, or a site key's `xs=urn:btpk:…`, BEP 46) or a gateway address. Pure: no DOM, tested in Node.
 */
import { parseSiteId, siteIdOf, type SiteId } from './site-id.js'

export interface SiteAddress {
  readonly site: SiteId
  /** The magnet's `tr=` WebSocket trackers (browsers can reach no others). */
  readonly trackers: readonly string[]
}

const wsTracker = (url: string): boolean => /^wss?:\/\/[^\s/]/i.test(url)

/** An infohash or key as 40/64 hex digits, 32-character base32 (either case), or a site id. */
function siteOf (token: string): SiteId | undefined {
  if (/^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(token)) return parseSiteId(siteIdOf(token.toLowerCase()))
  return parseSiteId(token.toLowerCase())
}

export function parseSiteAddress (input: string): SiteAddress | undefined {
  const text = input.trim()
  if (/^magnet:\?/i.test(text)) {
    const params = new URLSearchParams(text.slice(text.indexOf('?') + 1))
    const trackers = params.getAll('tr').filter(wsTracker)
    for (const value of [...params.getAll('xt'), ...params.getAll('xs')]) {
      const m = /^urn:(btih|btpk):(.+)$/i.exec(value)
      const site = m === null ? undefined : siteOf(m[2]!)
      if (site !== undefined && (site.kind === 'infohash') === (m![1]!.toLowerCase() === 'btih')) return { site, trackers }
    }
    return undefined
  }
  // A gateway address pasted whole: its first label.
  try {
    const url = new URL(text)
    const label = url.hostname.split('.')[0] ?? ''
    const site = parseSiteId(label)
    if (site !== undefined) return { site, trackers: [] }
  } catch { /* not a URL */ }
  const site = siteOf(text)
  return site === undefined ? undefined : { site, trackers: [] }
}

/** The site's address on the gateway at `base` (http://localhost:8888/): `<id>.<host>`, the magnet's trackers in the fragment. */
export function gatewayUrl (base: URL, address: SiteAddress, path = '/'): string {
  // Subdomains of an IP address do not exist: 127.0.0.1 becomes localhost, which browsers resolve to loopback.
  const host = /^[0-9.]+$|^\[/.test(base.hostname) ? 'localhost' : base.hostname
  const port = base.port === '' ? '' : `:${base.port}`
  const fragment = address.trackers.length > 0 ? '#' + address.trackers.map((t) => `${TRACKER_PARAM}=${encodeURIComponent(t)}`).join('&') : ''
  return `${base.protocol}//${address.site.id}.${host}${port}${path}${fragment}`
}

/** `#peersite-tr=<url>&peersite-tr=<url>`: trackers handed to a site's origin (a fragment never reaches the server). */
export const TRACKER_PARAM = 'peersite-tr'
