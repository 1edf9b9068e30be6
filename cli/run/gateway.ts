/** `peersite gateway`: every site in its own origin, http://<id>.localhost:PORT/, from one local loader server. */
import { startOriginGateway } from '../lib/origin-gateway.js'
import { waitForShutdown } from '../lib/signals.js'
import { warningPrinter } from '../lib/status.js'
import { DEFAULT_TRACKERS, iceConfigFor, parseHost, parsePort, validateBrowserTrackers } from '../lib/trackers.js'
import type { GatewayArgs } from '../commands/gateway.js'

export async function run (argv: GatewayArgs): Promise<void> {
  const port = parsePort(argv.port, '--port') ?? 8888
  const given = validateBrowserTrackers(argv.tracker ?? [])
  const trackers = given.length > 0 ? given : [...DEFAULT_TRACKERS]
  const rtcConfig = iceConfigFor(argv.iceServers, trackers)
  const shutdown = waitForShutdown()
  // Each distinct warning once, as get, seed, serve and mirror do: a page reloaded in a loop repeats its requests.
  const onWarning = warningPrinter(() => undefined)
  const gateway = await startOriginGateway({ host: parseHost(argv.host), port, trackers, rtcConfig, onWarning, ...(argv.loaderDir !== undefined ? { loaderDir: argv.loaderDir } : {}) })
  process.stdout.write(`gateway on ${gateway.url} (each site at http://<id>.localhost:${gateway.port}/)\n`)
  process.stderr.write('gateway running; press Ctrl-C to stop\n')
  const signal = await shutdown
  process.stderr.write(`peersite: ${signal} received, stopping\n`)
  await gateway.close()
}
