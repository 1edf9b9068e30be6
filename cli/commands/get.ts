/** `peersite get <infohash | magnet | site.torrent> --out DIR`: a Node visitor that downloads a whole site. */
import type { ArgumentsCamelCase, Argv } from 'yargs'
import { ICE_SERVERS_OPTION } from '../lib/trackers.js'
import { withNetworkOptions } from '../lib/network-options.js'

export const command = 'get <source>'
export const describe = 'Download a site (by infohash, magnet URI, .torrent file, or a keyed site\'s address: the newest version), verifying every piece'

export function builder (yargs: Argv) {
  return withNetworkOptions(yargs)
    .positional('source', { type: 'string', demandOption: true, describe: 'Infohash, magnet URI, path to a .torrent file, or a site address (magnet:?xs=urn:btpk:<public key> or the 64-hex public key)' })
    .option('out', { type: 'string', demandOption: true, describe: 'Folder to write the site into (must not exist or be empty)' })
    .option('tracker', { type: 'string', array: true, describe: 'Tracker URL: ws(s):// for WebRTC peers, http(s):// or udp:// for TCP peers (repeatable; added to the magnet\'s or torrent\'s own)' })
    .option('timeout', { type: 'number', describe: 'Give up after this many seconds' })
    .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object describing the result on stdout' })
    .option('ice-servers', ICE_SERVERS_OPTION)
}

export type GetArgs = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>

/** The implementation is loaded only when this command runs: the other commands' start-up does not pay for it. */
export async function handler (argv: GetArgs): Promise<void> {
  const { run } = await import('../run/get.js')
  await run(argv)
}
