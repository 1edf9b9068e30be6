/**
 * A BEP 19 web seed for tests: an HTTP server on 127.0.0.1 serving files from memory under `/<base path>`, with
 * single Range requests (206), counting requests and body bytes; `corrupt` paths answer with one byte flipped, and
 * `ignoreRange` answers every request with the whole file (200), as some servers do.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'

export interface WebSeedServer {
  readonly url: string
  /** Decoded request paths, in order. */
  readonly requests: string[]
  /** Body bytes sent. */
  bytesSent: number
  corrupt: Set<string>
  ignoreRange: boolean
  close (): Promise<void>
}

export async function startWebSeedServer (files: ReadonlyMap<string, Uint8Array>): Promise<WebSeedServer> {
  const state: WebSeedServer = {
    url: '',
    requests: [],
    bytesSent: 0,
    corrupt: new Set(),
    ignoreRange: false,
    close: async () => {}
  }
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    state.requests.push(path)
    const file = files.get(path)
    if (file === undefined) {
      res.writeHead(404).end()
      return
    }
    let body = Buffer.from(file)
    if (state.corrupt.has(path)) {
      body = Buffer.from(body)
      const at = Math.floor(body.length / 2)
      body[at] = body[at]! ^ 0xff
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''))
    if (range !== null && !state.ignoreRange) {
      const from = Number(range[1])
      const to = Math.min(body.length - 1, Number(range[2]))
      const part = body.subarray(from, to + 1)
      res.writeHead(206, { 'Content-Length': part.length, 'Content-Range': `bytes ${from}-${to}/${body.length}` })
      state.bytesSent += part.length
      res.end(part)
      return
    }
    res.writeHead(200, { 'Content-Length': body.length })
    state.bytesSent += body.length
    res.end(body)
  }
  const server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/`,
    close: async () => await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  })
}
