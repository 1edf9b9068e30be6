/**
 * The BitTorrent network for a CLI process: one TCP listening port and one DHT node, shared by every torrent the
 * process runs (a site and, for `mirror`, many). Each torrent gets a TcpDiscovery on them (engine/discovery/tcp.ts)
 * beside its WebSocket-tracker discovery.
 */
import { DEFAULT_PEER_PORT } from '../../engine/constants.js'
import { MainlineDht } from '../../engine/discovery/dht.js'
import type { DiscoveryInit } from '../../engine/discovery/index.js'
import { TcpDiscovery } from '../../engine/discovery/tcp.js'
import { UsageError } from '../../engine/errors.js'
import { TcpListener } from '../../engine/transport/tcp-listener.js'
import { describeSystemError, errnoCode } from './system-errors.js'
import { checkHostPort } from './network-options.js'

export interface BtNetworkInit {
  /** Accept and open TCP connections (false: the process can still look peers up, but no one can connect). */
  tcp: boolean
  /** TCP port, and the DHT's UDP port. Undefined: DEFAULT_PEER_PORT, else any free one. */
  port?: number | undefined
  /** Address to listen on: 0.0.0.0, or 127.0.0.1 when the swarm is local. */
  host: string
  dht: boolean
  /** DHT nodes to start from, "host:port"; default the public routers. */
  dhtBootstrap?: readonly string[] | undefined
  onWarning?: (message: string) => void
}

export interface BtNetwork {
  /** The TCP port peers reach us on (0 without TCP). */
  readonly port: number
  readonly dht: boolean
  /** The discovery for one torrent over this network. */
  discovery: (init: DiscoveryInit, trackers: readonly string[], announceIntervalMs?: number) => TcpDiscovery
  /** One line for the start-up summary: "tcp 127.0.0.1:6881, DHT on". */
  describe: () => string
  close: () => Promise<void>
}

export async function startBtNetwork (init: BtNetworkInit): Promise<BtNetwork> {
  let listener: TcpListener | undefined
  let dht: MainlineDht | undefined
  try {
    if (init.tcp) listener = await listenTcp(init.host, init.port)
    if (init.dht) {
      const bootstrap = init.dhtBootstrap?.map(checkHostPort)
      // The DHT's UDP port has the TCP port's number when it is free (the convention), any free one otherwise.
      const onWarning = (err: Error): void => init.onWarning?.(`DHT: ${err.message}`)
      const start = async (port: number): Promise<MainlineDht> => await MainlineDht.start({ port, host: init.host, ...(bootstrap !== undefined ? { bootstrap } : {}), onWarning })
      try {
        dht = await start(listener?.port ?? init.port ?? DEFAULT_PEER_PORT)
      } catch (err) {
        if (errnoCode(err) !== 'EADDRINUSE') throw err
        dht = await start(0)
      }
    }
  } catch (err) {
    await listener?.close()
    if (err instanceof UsageError) throw err
    throw describeSystemError(err, 'start the BitTorrent network (TCP port, DHT)')
  }
  let closing: Promise<void> | undefined
  return {
    port: listener?.port ?? 0,
    dht: dht !== undefined,
    discovery: (d, trackers, announceIntervalMs) => new TcpDiscovery({
      ...d,
      listener,
      dht,
      trackers,
      ...(announceIntervalMs !== undefined ? { announceIntervalMs } : {})
    }),
    describe: () => {
      const tcp = listener !== undefined ? `TCP ${listener.host.includes(':') ? `[${listener.host}]` : listener.host}:${listener.port}` : 'TCP off'
      return `${tcp}, DHT ${dht !== undefined ? `on (UDP ${dht.port})` : 'off'}`
    },
    close: async () => {
      closing ??= (async () => {
        await dht?.close()
        await listener?.close()
      })()
      await closing
    }
  }
}

async function listenTcp (host: string, port: number | undefined): Promise<TcpListener> {
  // Every address: IPv6 and IPv4 on one dual-stack socket where the system has IPv6, else IPv4 alone.
  if (host === '0.0.0.0') {
    try {
      return await listenOn('::', port)
    } catch (err) {
      const code = errnoCode(err)
      if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw err
    }
  }
  return await listenOn(host, port)
}

async function listenOn (host: string, port: number | undefined): Promise<TcpListener> {
  try {
    return await TcpListener.listen({ host, port: port ?? DEFAULT_PEER_PORT })
  } catch (err) {
    if (errnoCode(err) !== 'EADDRINUSE') throw err
    if (port !== undefined) throw new UsageError(`--peer-port ${port} is already in use`)
    return await TcpListener.listen({ host, port: 0 })
  }
}
