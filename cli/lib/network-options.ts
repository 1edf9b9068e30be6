/**
 * The BitTorrent-network options that publish, seed, get and serve share: TCP (`--peer-port`, `--no-tcp`) and the
 * DHT (`--no-dht`, `--dht-bootstrap`). A swarm whose trackers are all on this machine (a test, `--local`) listens on
 * 127.0.0.1 and keeps off the public DHT unless asked.
 */
import { isIP } from 'node:net'
import type { Argv } from 'yargs'
import { ArgumentError } from '../../engine/errors.js'
import { allTrackersLocal } from '../../engine/transport/rtc-config.js'
import type { BtNetworkInit } from './bt-network.js'
import { parsePort } from './trackers.js'

export function withNetworkOptions<T> (yargs: Argv<T>) {
  return yargs
    .option('peer-port', { type: 'number', describe: 'TCP port for BitTorrent peers, also the DHT\'s UDP port (default: 6881, else a free one)' })
    .option('tcp', { type: 'boolean', default: true, describe: 'Speak BitTorrent over TCP with ordinary clients (--no-tcp: WebRTC only)' })
    .option('dht', { type: 'boolean', describe: 'Find peers on the mainline DHT (default: on, off when every tracker is on this machine; --no-dht: off)' })
    .option('dht-bootstrap', { type: 'string', array: true, describe: 'DHT node to start from, HOST:PORT (repeatable; default: the public routers)' })
}

export interface NetworkArgs {
  peerPort?: number | undefined
  tcp: boolean
  dht?: boolean | undefined
  dhtBootstrap?: string[] | undefined
}

/** The network settings for these options; `local`: everything stays on 127.0.0.1 (`publish --local`). */
export function networkInit (argv: NetworkArgs, trackers: readonly string[], local = false): BtNetworkInit {
  const port = parsePort(argv.peerPort, '--peer-port')
  const onlyHere = local || allTrackersLocal(trackers)
  const bootstrap = argv.dhtBootstrap?.filter((s) => s.trim() !== '')
  // Checked here, not only as the DHT starts: a bad node is refused with --no-seed, --no-dht or --no-tcp too.
  bootstrap?.forEach(checkHostPort)
  if (local && argv.dht === true && (bootstrap === undefined || bootstrap.length === 0)) {
    throw new ArgumentError('--local contacts nothing outside this machine: drop --dht, or name a local --dht-bootstrap node')
  }
  // DHT peers are dialled over TCP: without TCP there is nothing to do with them.
  const dht = argv.tcp && (argv.dht ?? ((bootstrap !== undefined && bootstrap.length > 0) || !onlyHere))
  return {
    tcp: argv.tcp,
    ...(port !== undefined ? { port } : {}),
    host: onlyHere ? '127.0.0.1' : '0.0.0.0',
    dht,
    ...(bootstrap !== undefined && bootstrap.length > 0 ? { dhtBootstrap: bootstrap } : {})
  }
}

/** "host:port" with a port 1-65535 (a DHT bootstrap node). */
export function checkHostPort (value: string): string {
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(value.trim())
  const port = Number(m?.[2])
  if (m === null || !(port >= 1 && port <= 65535)) throw new ArgumentError(`invalid --dht-bootstrap "${value}": expected HOST:PORT`)
  const host = m[1]!.replace(/^\[|\]$/g, '')
  if (host.includes(':') && isIP(host) !== 6) throw new ArgumentError(`invalid --dht-bootstrap "${value}": expected HOST:PORT`)
  return `${host}:${port}`
}
