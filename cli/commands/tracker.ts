/** `peersite tracker`: a WebSocket tracker (bittorrent-tracker's server) for people who run their own. */
import type { ArgumentsCamelCase, Argv } from 'yargs'
import { waitForShutdown } from '../lib/signals.js'
import { startTrackerServer } from '../lib/tracker-server.js'
import { parsePort } from '../lib/trackers.js'

export const command = 'tracker'
export const describe = 'Run a WebSocket tracker'

export function builder (yargs: Argv) {
  return yargs
    .option('port', { type: 'number', default: 8000, describe: 'Port to listen on (0: a free one)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on (0.0.0.0 to accept other machines)' })
}

export type TrackerArgs = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>

export async function handler (argv: TrackerArgs): Promise<void> {
  const port = parsePort(argv.port, '--port') ?? 8000
  const shutdown = waitForShutdown()
  const server = await startTrackerServer({ host: argv.host, port })
  process.stdout.write(`${server.url}\n`)
  process.stderr.write('tracker running; press Ctrl-C to stop\n')
  const signal = await shutdown
  process.stderr.write(`peersite: ${signal} received, stopping\n`)
  await server.close()
}
