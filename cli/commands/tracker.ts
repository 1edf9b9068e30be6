/**
 * `peersite tracker`: a tracker (bittorrent-tracker's server) for people who run their own: WebSocket announces for
 * browsers, HTTP (/announce, /scrape) and UDP announces for ordinary BitTorrent clients, all on the one --port.
 */
import type { ArgumentsCamelCase, Argv } from 'yargs'

export const command = 'tracker'
export const describe = 'Run a tracker: WebSocket (browsers), HTTP and UDP (BitTorrent clients) on one port'

export function builder (yargs: Argv) {
  return yargs
    .option('port', { type: 'number', default: 8000, describe: 'Port to listen on, TCP (WebSocket and HTTP) and UDP (0: a free one)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on (0.0.0.0 to accept other machines)' })
    // MAX_CONNECTIONS_PER_ADDRESS (cli/lib/tracker-server.ts), not imported: that would load the tracker server at
    // every command's start-up.
    .option('http', { type: 'boolean', default: true, describe: 'Answer HTTP announces and scrapes (--no-http: WebSocket upgrades only on the TCP port)' })
    .option('udp', { type: 'boolean', default: true, describe: 'Answer UDP announces (--no-udp: none; with --no-http, a tracker for browsers alone)' })
    .option('max-connections-per-address', { type: 'number', default: 64, describe: 'WebSockets one remote address (an IPv6 /64) may hold open (0: no limit, e.g. behind a TLS proxy on another machine; loopback is never limited)' })
}

export type TrackerArgs = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>

/** The implementation is loaded only when this command runs: the other commands' start-up does not pay for it. */
export async function handler (argv: TrackerArgs): Promise<void> {
  const { run } = await import('../run/tracker.js')
  await run(argv)
}
