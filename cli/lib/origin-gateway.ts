/**
 * `peersite gateway`: one local HTTP server for every site, each in its own origin. `http://<id>.localhost:PORT/`
 * (any path) gets the generic loader (generic-loader.ts), whose page and worker fetch the site named by the host
 * name from the swarm; `http://localhost:PORT/` is the front page where a visitor pastes a magnet, infohash or id.
 * Chromium and Firefox resolve every `*.localhost` name to loopback themselves and treat it as a secure context,
 * so this needs no DNS and no TLS.
 *
 * It serves loader files only, never a byte of a site (that is what `peersite serve` does, cli/lib/gateway.ts):
 * `/peersite.json` and `/site.torrent` are 404 here, and the worker answers them from what the page got from peers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { UsageError } from '../../engine/errors.js'
import { siteIdFromHost, siteIdOf } from '../../engine/util/site-id.js'
import { gatewayUrl, parseSiteAddress } from '../../engine/util/site-address.js'
import { MANIFEST_FILE, TORRENT_FILE } from '../../worker/protocol.js'
import { buildGenericLoader, type GenericLoaderInit } from './generic-loader.js'
import { requestUrl } from './request-url.js'
import { describeSystemError } from './system-errors.js'

export interface OriginGatewayInit extends GenericLoaderInit {
  /** Address to listen on (default 127.0.0.1). */
  host?: string
  /** Default 0: a free port. */
  port?: number
  /** A request the gateway failed to answer (it answers 500 and goes on). */
  onWarning?: (message: string) => void
}

export interface OriginGateway {
  /** The front page: http://localhost:PORT/ */
  readonly url: string
  readonly port: number
  /** http://<id>.localhost:PORT/ for an infohash or public key in hex, or a site id. */
  siteUrl (hexOrId: string): string
  /** Every request answered: host, path, status (tests assert that no site byte is ever asked of the gateway). */
  readonly requests: Array<{ host: string, path: string, status: number }>
  close (): Promise<void>
}

const SECURITY_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' }

/**
 * The host names of the front page: localhost, loopback, and the address listened on unless it is every address,
 * each as a browser writes it in the Host header (lowercase; IPv6 in brackets, in its shortest form: `--host
 * 2001:DB8:0:0::5` is `[2001:db8::5]`).
 */
export function ownHostNames (host: string): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]'])
  if (host === '0.0.0.0' || host === '::') return names
  const literal = host.includes(':') ? `[${host}]` : host
  try {
    names.add(new URL(`http://${literal}/`).hostname)
  } catch {
    names.add(literal.toLowerCase())
  }
  return names
}

export async function startOriginGateway (init: OriginGatewayInit): Promise<OriginGateway> {
  const files = await buildGenericLoader(init)
  const host = init.host ?? '127.0.0.1'
  const requests: OriginGateway['requests'] = []
  const ownHosts = ownHostNames(host)
  let port = 0

  const send = (res: ServerResponse, status: number, type: string, body: Buffer | string, head: boolean, extra: Record<string, string> = {}): void => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': bytes.length, 'Cache-Control': 'no-cache', ...extra })
    res.end(head ? undefined : bytes)
  }

  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    const hostHeader = String(req.headers.host ?? '')
    // A trailing dot is kept: `<id>.localhost.` is an origin of its own in browsers, and a site has one origin
    // (siteIdFromHost refuses the empty label, as the page and the worker do), so it is a 404 like any other name.
    const hostname = hostHeader.replace(/:\d+$/, '').toLowerCase()
    const head = req.method === 'HEAD'
    const url = requestUrl(req.url, 'http://gateway.invalid')
    const path = url?.pathname ?? String(req.url)
    res.on('finish', () => requests.push({ host: hostname, path, status: res.statusCode }))
    if (url === undefined) return send(res, 400, 'text/plain; charset=utf-8', 'the address could not be parsed\n', head)
    if (req.method !== 'GET' && !head) return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false, { Allow: 'GET, HEAD' })
    // Only /sw.js may become a worker (as on the per-site static server, cli/lib/static-server.ts).
    if (String(req.headers['service-worker'] ?? '').toLowerCase() === 'script' && path !== '/sw.js') {
      return send(res, 403, 'text/plain; charset=utf-8', 'only /sw.js may be registered as a service worker\n', head)
    }
    const html = 'text/html; charset=utf-8'
    const site = siteIdFromHost(hostname)
    // A site is `<id>.localhost` and nothing deeper (siteIdFromHost): at `<A>.<B>.localhost` site A could set cookies
    // for site B's origin. The front page answers the gateway's own names only, and no other host name gets
    // anything: a page on a name an attacker's DNS points here (rebinding) is not told whether a gateway runs.
    if (site === undefined ? !ownHosts.has(hostname) : !hostname.endsWith('.localhost')) {
      return send(res, 404, 'text/plain; charset=utf-8', 'no site here: a site is at <id>.localhost\n', head)
    }
    if (path === '/peersite.js') return send(res, 200, 'text/javascript; charset=utf-8', files.get('peersite.js')!, head)
    if (path === '/peersite-later.js') return send(res, 200, 'text/javascript; charset=utf-8', files.get('peersite-later.js')!, head)
    if (site !== undefined) {
      if (path === '/sw.js') return send(res, 200, 'text/javascript; charset=utf-8', files.get('sw.js')!, head)
      if (path === `/${MANIFEST_FILE}` || path === `/${TORRENT_FILE}`) {
        return send(res, 404, 'text/plain; charset=utf-8', 'the gateway serves the loader only: the site comes from its peers\n', head)
      }
      // Every other path: the loader, which shows that path of the site.
      return send(res, 200, html, files.get('index.html')!, head)
    }
    // The front page's host. /<infohash, id or magnet>[/path] -> that site's origin.
    const [first = '', ...rest] = path.slice(1).split('/')
    let address
    try { address = first === '' ? undefined : parseSiteAddress(decodeURIComponent(first)) } catch {}
    if (address !== undefined) {
      // The gateway's own address, never the Host header: nothing the client sent is reflected into a redirect.
      const base = new URL(`http://localhost:${port}/`)
      return send(res, 302, 'text/plain; charset=utf-8', '', head, { Location: gatewayUrl(base, address, '/' + rest.join('/') + url.search) })
    }
    if (path === '/' || path === '/index.html') return send(res, 200, html, files.get('index.html')!, head)
    return send(res, 404, html, files.get('404.html')!, head)
  }

  // One request must never end the process: whatever answering it throws is a 500 and a warning.
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      answer(req, res)
    } catch (err) {
      init.onWarning?.(`answering ${String(req.url).slice(0, 200)}: ${(err as Error).message}`)
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n', false)
      else res.destroy()
    }
  }

  const server = createServer(handle)
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new UsageError(`port ${init.port ?? 0} on ${host} is already in use`))
      else if (err.code === 'EACCES') reject(new UsageError(`not allowed to listen on port ${init.port ?? 0} on ${host}`))
      else reject(describeSystemError(err, `listen on ${host}`))
    })
    server.listen(init.port ?? 0, host, () => resolve())
  })
  const address = server.address()
  port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `http://localhost:${port}/`,
    port,
    siteUrl: (hexOrId) => `http://${/^[0-9a-f]+$/i.test(hexOrId) && (hexOrId.length === 40 || hexOrId.length === 64) ? siteIdOf(hexOrId.toLowerCase()) : hexOrId}.localhost:${port}/`,
    requests,
    close: async () => await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }
}
