/**
 * The baseline for the URL-rule and history tests: the same site folder on a plain static host with GitHub Pages'
 * and Netlify's static rules, written independently of peersite's (sirv, which is already a dependency, plus the
 * two rules sirv lacks):
 *   - a folder asked for without its slash answers 301 to the folder URL (sirv would serve its index at once);
 *   - a missing path answers the site's 404.html with status 404;
 *   - `/a/b` serves `a/b.html`, folders serve their index.html (sirv's `extensions: ['html']`);
 *   - `spa`: unknown paths get index.html with 200 (sirv's `single`, like `serve -s` or Netlify's `/* /index.html 200`).
 * It knows nothing of `_redirects`: those tests compare against Netlify's documented behaviour instead.
 */
import { readFile, stat } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { join, normalize } from 'node:path'
import sirv from 'sirv'

export interface PlainHost {
  readonly url: string
  close (): Promise<void>
}

export async function startPlainHost (root: string, init: { spa?: boolean } = {}): Promise<PlainHost> {
  const files = sirv(root, { dev: true, extensions: ['html'], dotfiles: false, ...(init.spa === true ? { single: true } : {}) })
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://plain')
      const path = decodeURIComponent(url.pathname)
      const abs = normalize(join(root, path))
      if (!path.endsWith('/') && abs.startsWith(root) && (await stat(abs).catch(() => undefined))?.isDirectory() === true) {
        res.writeHead(301, { Location: `${url.pathname}/${url.search}` })
        res.end()
        return
      }
      files(req, res, () => {
        void readFile(join(root, '404.html')).then((body) => {
          res.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8' })
          res.end(body)
        }, () => {
          res.writeHead(404)
          res.end()
        })
      })
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
