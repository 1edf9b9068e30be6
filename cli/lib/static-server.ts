/**
 * The static HTTP server of `publish --local`: serves the output folder (the loader) the way a static host such as
 * GitHub Pages would, plus the two rules the service-worker loader relies on:
 *   - a request carrying `Service-Worker: script` (a browser fetching a worker script, per the Service Worker spec)
 *     is answered only for /sw.js: a page cannot register anything else from this origin as a worker;
 *   - unknown paths get 404.html with status 404, and 404.html is the loader: a visitor landing on /blog/ boots the
 *     loader, whose service worker then serves the real page from the torrent; so do dotfiles and dot-folders (a
 *     user's .git or .env in the output folder), except .well-known.
 * Every response carries `X-Content-Type-Options: nosniff`.
 */
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { join, resolve } from 'node:path'
import sirv from 'sirv'
import { UsageError } from '../../engine/errors.js'
import { describeSystemError } from './system-errors.js'

export interface StaticServer {
  /** http://HOST:PORT/ */
  readonly url: string
  readonly port: number
  /** Paths requested, in order ("/", "/sw.js", ...), for tests and the demo's log. */
  readonly requests: string[]
  close (): Promise<void>
}

export interface StaticServerInit {
  root: string
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0: a free port. */
  port?: number
  /** Called for each request after it is answered. */
  onRequest?: (entry: { method: string, path: string, status: number }) => void
}

const WORKER_SCRIPT = '/sw.js'
const NOT_FOUND_PAGE = '404.html'

export async function startStaticServer (init: StaticServerInit): Promise<StaticServer> {
  const root = resolve(init.root)
  const host = init.host ?? '127.0.0.1'
  const requests: string[] = []
  // dev: look files up per request, so the server can start before publish writes the folder (a port that is in
  // use must be refused before anything is written) and always serves what is on disk now.
  const serve = sirv(root, {
    dev: true,
    etag: true,
    dotfiles: false,
    extensions: ['html'],
    setHeaders: (res, pathname) => {
      if (pathname === WORKER_SCRIPT) res.setHeader('Cache-Control', 'no-cache')
    }
  })

  const notFound = async (res: ServerResponse): Promise<void> => {
    let body: Buffer
    try {
      body = await readFile(join(root, NOT_FOUND_PAGE))
    } catch {
      body = Buffer.from('not found\n')
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length })
      res.end(body)
      return
    }
    res.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-cache' })
    res.end(body)
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    let path = '/'
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)
    } catch {
      path = req.url ?? '/'
    }
    requests.push(path)
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.on('finish', () => init.onRequest?.({ method: req.method ?? 'GET', path, status: res.statusCode }))
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' })
      res.end('method not allowed\n')
      return
    }
    const workerRequest = String(req.headers['service-worker'] ?? '').toLowerCase() === 'script'
    if (workerRequest && path !== WORKER_SCRIPT) {
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end('only /sw.js may be registered as a service worker\n')
      return
    }
    // sirv's `dotfiles: false` holds only outside its dev mode (which looks files up per request): the output folder
    // may hold a user's .git or .env, kept there by publish. .well-known (RFC 8615) is a site's own (--with-files).
    // Backslashes separate too: on Windows, sirv's path join reads `/%5c.git%5cconfig` as .git\config.
    if (path.split(/[/\\]/).some((segment) => segment.startsWith('.') && segment !== '.well-known')) {
      void notFound(res)
      return
    }
    serve(req, res, () => { void notFound(res) })
  }

  const server = createServer(handle)
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new UsageError(`port ${init.port ?? 0} on ${host} is already in use`))
      else if (err.code === 'EACCES') reject(new UsageError(`not allowed to listen on port ${init.port ?? 0} on ${host}`))
      else reject(describeSystemError(err, `listen on ${host}`))
    })
    server.listen(init.port ?? 0, host, () => resolvePromise())
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${urlHost}:${port}/`,
    port,
    requests,
    close: async () => await new Promise<void>((resolvePromise) => {
      server.close(() => resolvePromise())
      server.closeAllConnections()
    })
  }
}
