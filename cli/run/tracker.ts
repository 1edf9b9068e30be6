/**
 * `peersite tracker`: a tracker (bittorrent-tracker's server) for people who run their own: WebSocket announces for
 * browsers, HTTP (/announce, /scrape) and UDP announces for ordinary BitTorrent clients, all on the one --port.
 */
import { ArgumentError } from '../../engine/errors.js'
import { warn } from '../lib/format.js'
import { waitForShutdown } from '../lib/signals.js'
import { startTrackerServer } from '../lib/tracker-server.js'
import { parseHost, parsePort } from '../lib/trackers.js'
import type { TrackerArgs } from '../commands/tracker.js'

export async function run (argv: TrackerArgs): Promise<void> {
  const port = parsePort(argv.port, '--port') ?? 8000
  const host = parseHost(argv.host)
  const maxConnectionsPerAddress = argv.maxConnectionsPerAddress
  if (!Number.isSafeInteger(maxConnectionsPerAddress) || maxConnectionsPerAddress < 0) {
    throw new ArgumentError(`invalid --max-connections-per-address "${String(maxConnectionsPerAddress)}": expected a whole number of connections (0: no limit)`)
  }
  const shutdown = waitForShutdown()
  const onWarning = warn
  const server = await startTrackerServer({ host, port, http: argv.http, udp: argv.udp, maxConnectionsPerAddress, onWarning })
  // The WebSocket URL first (what `publish --tracker` takes for browsers), then the ones for ordinary clients that
  // are on: a line per URL.
  process.stdout.write([server.url, server.httpUrl, server.udpUrl].filter((u) => u !== undefined).map((u) => `${u}\n`).join(''))
  process.stderr.write('tracker running; press Ctrl-C to stop\n')
  const signal = await shutdown
  process.stderr.write(`peersite: ${signal} received, stopping\n`)
  await server.close()
}
