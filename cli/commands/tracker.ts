/**
 * `peersite tracker`: a tracker (bittorrent-tracker's server) for people who run their own: WebSocket announces for
 * browsers, HTTP (/announce, /scrape) and UDP announces for ordinary BitTorrent clients, all on the one --port.
 */
import type { ArgumentsCamelCase, Argv } from 'yargs'
import { waitForShutdown } from '../lib/signals.js'
import { startTrackerServer } from '../lib/tracker-server.js'
import { parsePort } from '../lib/trackers.js'

export const command = 'tracker'
export const describe = 'Run a tracker: WebSocket (browsers), HTTP and UDP (BitTorrent clients) on one port'

export function builder (yargs: Argv) {
  return yargs
    .option('port', { type: 'number', default: 8000, describe: 'Port to listen on, TCP (WebSocket and HTTP) and UDP (0: a free one)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on (0.0.0.0 to accept other machines)' })
}

export type TrackerArgs = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>

export async function handler (argv: TrackerArgs): Promise<void> {
  const port = parsePort(argv.port, '--port') ?? 8000
  const shutdown = waitForShutdown()
  const server = await startTrackerServer({ host: argv.host, port })
  // The WebSocket URL first (what `publish --tracker` takes for browsers), then the ones for ordinary clients.
  process.stdout.write(`${server.url}\n${server.httpUrl}\n${server.udpUrl ?? ''}\n`)
  process.stderr.write('tracker running; press Ctrl-C to stop\n')
  const signal = await shutdown
  process.stderr.write(`peersite: ${signal} received, stopping\n`)
  await server.close()
}
