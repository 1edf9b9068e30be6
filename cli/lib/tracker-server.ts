/**
 * A BitTorrent tracker (bittorrent-tracker's server) in this process. Used by `peersite tracker`, by
 * `publish --local`, and by the tests. One port number serves all three protocols: WebSocket announces (browsers,
 * WebRTC) and HTTP `/announce` + `/scrape` on the TCP port, UDP announces (BEP 15) on the UDP port of the same
 * number. bittorrent-tracker keeps WebRTC and TCP peers of one torrent apart (a WebSocket announce is answered
 * with WebSocket peers, an HTTP or UDP one with addresses); a hybrid peersite peer announces to both and bridges.
 *
 * bittorrent-tracker is a devDependency: the build inlines its server into dist/ (scripts/bundle-tracker.mjs), so
 * that users do not install its client's dependencies. Import the server's own module, never the package entry.
 */
import { isIP } from 'node:net'
import Server from 'bittorrent-tracker/server'
import { UsageError } from '../../engine/errors.js'
import { describeSystemError } from './system-errors.js'

export interface TrackerServer {
  /** ws://HOST:PORT, what WebRTC peers (browsers) announce to. */
  readonly url: string
  /** http://HOST:PORT/announce, for ordinary BitTorrent clients (TCP peers). */
  readonly httpUrl: string
  /** udp://HOST:PORT (BEP 15); undefined with `udp: false`. */
  readonly udpUrl: string | undefined
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
  /** Also answer UDP announces on the same port number (default true). */
  udp?: boolean
}

export async function startTrackerServer (init: TrackerServerInit = {}): Promise<TrackerServer> {
  const host = init.host ?? '127.0.0.1'
  const udp = init.udp !== false
  const server = new Server({ udp, http: true, ws: true, stats: false, interval: init.intervalMs ?? 30_000 })
  // The tracker reports bad announces from clients as warnings; they are the clients' problem, not ours.
  server.on('warning', () => {})
  // Its 'error' events after start-up (a UDP send to a vanished client) are the clients' problem too.
  server.on('error', () => {})
  const refused = (err: unknown, what: string): unknown => {
    server.close()
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') return new UsageError(`${what} port ${init.port ?? 0} on ${host} is already in use`)
    return describeSystemError(err, `listen on ${host}`)
  }
  // Not server.listen(): with port 0 it would give the HTTP and the UDP side two different free ports, and it binds
  // the IPv6 UDP socket to every address whatever `host` says. The TCP side first, then UDP on its port number, only
  // for the address family of `host`.
  try {
    await listenOnce(server.http, (cb) => server.http.listen(init.port ?? 0, host, cb))
  } catch (err) {
    throw refused(err, 'TCP')
  }
  const address = server.http.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  if (udp) {
    const v6 = isIP(host) === 6
    const [use, unused] = v6 ? [server.udp6, server.udp4] : [server.udp4, server.udp6]
    try { unused?.close() } catch {}
    if (v6) server.udp4 = server.udp = null
    else server.udp6 = null
    try {
      await listenOnce(use!, (cb) => use!.bind(port, host, cb))
    } catch (err) {
      throw refused(err, 'UDP')
    }
  }
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `ws://${urlHost}:${port}`,
    httpUrl: `http://${urlHost}:${port}/announce`,
    udpUrl: udp ? `udp://${urlHost}:${port}` : undefined,
    port,
    host,
    close: async () => await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/** Runs `start` and resolves on its callback, rejects on the first 'error' before it. */
async function listenOnce (emitter: NodeJS.EventEmitter, start: (cb: () => void) => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err)
    emitter.once('error', onError)
    start(() => {
      emitter.off('error', onError)
      resolve()
    })
  })
}
