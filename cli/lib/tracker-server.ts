/**
 * A WebSocket BitTorrent tracker (bittorrent-tracker's server) in this process. Used by `peersite tracker`,
 * by `publish --local`, and by the tests. The WebSocket server rides on an HTTP server, so the same port also
 * answers HTTP announces; UDP is off.
 *
 * bittorrent-tracker is a devDependency: the build inlines its server into dist/ (scripts/bundle-tracker.mjs), so
 * that users do not install its client's dependencies. Import the server's own module, never the package entry.
 */
import Server from 'bittorrent-tracker/server'
import { UsageError } from '../../engine/errors.js'
import { describeSystemError } from './system-errors.js'

export interface TrackerServer {
  /** ws://HOST:PORT, what peers announce to. */
  readonly url: string
  readonly port: number
  readonly host: string
  close (): Promise<void>
}

export interface TrackerServerInit {
  /** Default 127.0.0.1: nothing outside the machine can reach it unless asked. */
  host?: string
  /** Default 0: a free port. */
  port?: number
  /** How often peers re-announce, ms. Short in tests so late joiners are found quickly. */
  intervalMs?: number
}

export async function startTrackerServer (init: TrackerServerInit = {}): Promise<TrackerServer> {
  const host = init.host ?? '127.0.0.1'
  const server = new Server({ udp: false, http: true, ws: true, stats: false, interval: init.intervalMs ?? 30_000 })
  // The tracker reports bad announces from clients as warnings; they are the clients' problem, not ours.
  server.on('warning', () => {})
  await new Promise<void>((resolve, reject) => {
    let settled = false
    // The HTTP server and the WebSocket server on it may both report one listen failure: answer the first only.
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return
      settled = true
      server.close()
      if (err.code === 'EADDRINUSE') reject(new UsageError(`port ${init.port ?? 0} on ${host} is already in use`))
      else reject(describeSystemError(err, `listen on ${host}`))
    })
    server.once('listening', () => {
      settled = true
      resolve()
    })
    server.listen(init.port ?? 0, host)
  })
  const address = server.http.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `ws://${urlHost}:${port}`,
    port,
    host,
    close: async () => await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
