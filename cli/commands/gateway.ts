/** `peersite gateway`: every site in its own origin, http://<id>.localhost:PORT/, from one local loader server. */
import type { ArgumentsCamelCase, Argv } from 'yargs'
import { startOriginGateway } from '../lib/origin-gateway.js'
import { waitForShutdown } from '../lib/signals.js'
import { DEFAULT_TRACKERS, ICE_SERVERS_OPTION, iceConfigFor, parsePort, validateBrowserTrackers } from '../lib/trackers.js'

export const command = 'gateway'
export const describe = 'Open any site by its id at http://<id>.localhost:PORT/, each in its own origin (serves the loader only)'

export function builder (yargs: Argv) {
  return yargs
    .option('port', { type: 'number', default: 8888, describe: 'HTTP port to listen on (0: a free one)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on' })
    .option('tracker', { type: 'string', array: true, describe: 'WebSocket tracker URL where sites are looked up (repeatable; default: the public WebTorrent trackers)' })
    .option('ice-servers', ICE_SERVERS_OPTION)
    .example('$0 gateway', 'Then open http://localhost:8888/ and paste a magnet link')
}

export type GatewayArgs = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>> & { loaderDir?: string }

export async function handler (argv: GatewayArgs): Promise<void> {
  const port = parsePort(argv.port, '--port') ?? 8888
  const given = validateBrowserTrackers(argv.tracker ?? [])
  const trackers = given.length > 0 ? given : [...DEFAULT_TRACKERS]
  const rtcConfig = iceConfigFor(argv.iceServers, trackers)
  const shutdown = waitForShutdown()
  const gateway = await startOriginGateway({ host: argv.host, port, trackers, rtcConfig, ...(argv.loaderDir !== undefined ? { loaderDir: argv.loaderDir } : {}) })
  process.stdout.write(`gateway on ${gateway.url} (each site at http://<id>.localhost:${gateway.port}/)\n`)
  process.stderr.write('gateway running; press Ctrl-C to stop\n')
  const signal = await shutdown
  process.stderr.write(`peersite: ${signal} received, stopping\n`)
  await gateway.close()
}
