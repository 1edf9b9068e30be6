/**
 * `peersite serve <infohash | magnet | site.torrent>`: a Node gateway that joins the swarm and serves the site on
 * http://HOST:PORT/ with the service worker's file mapping and headers, Range included (VLC and mpv can play and
 * seek its videos), while seeding what it has fetched.
 */
import type { ArgumentsCamelCase, Argv } from 'yargs'
import { ICE_SERVERS_OPTION } from '../lib/trackers.js'
import { withNetworkOptions } from '../lib/network-options.js'

export const command = 'serve <source>'
export const describe = 'Serve a site from the swarm on a local HTTP address (with Range: players can seek its videos)'

export const DEFAULT_SERVE_PORT = 8888

export function builder (yargs: Argv) {
  return withNetworkOptions(yargs)
    .positional('source', { type: 'string', demandOption: true, describe: 'Infohash, magnet URI, path to a .torrent file, or a keyed site\'s address (magnet:?xs=urn:btpk:<public key> or the 64-hex public key: the newest version, followed while serving)' })
    .option('tracker', { type: 'string', array: true, describe: 'Tracker URL: ws(s):// for WebRTC peers, http(s):// or udp:// for TCP peers (repeatable; added to the magnet\'s or torrent\'s own)' })
    .option('port', { type: 'number', default: DEFAULT_SERVE_PORT, describe: 'HTTP port to listen on (0: a free one)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on (0.0.0.0 to accept other machines)' })
    .option('spa', { type: 'boolean', default: false, describe: 'A single-page app (as published with --spa): unknown paths get /index.html with status 200' })
    .option('ice-servers', ICE_SERVERS_OPTION)
    .option('log-requests', { type: 'boolean', default: false, describe: 'Print one line per HTTP request on stderr (what a player asked for and what it got)' })
}

export type ServeArgs = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>

/** The implementation is loaded only when this command runs: the other commands' start-up does not pay for it. */
export async function handler (argv: ServeArgs): Promise<void> {
  const { run } = await import('../run/serve.js')
  await run(argv)
}
