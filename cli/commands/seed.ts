/** `peersite seed <out-dir | site.torrent>`: check a published folder against its torrent, then seed it. */
import type { ArgumentsCamelCase, Argv } from 'yargs'
import { ICE_SERVERS_OPTION } from '../lib/trackers.js'
import { withNetworkOptions } from '../lib/network-options.js'

export const command = 'seed <target>'
export const describe = 'Seed an already-published site (checks the files against the torrent first)'

export function builder (yargs: Argv) {
  return withNetworkOptions(yargs)
    .positional('target', { type: 'string', demandOption: true, describe: 'The output folder of publish, or its site.torrent, or a keyed site\'s address (magnet:?xs=urn:btpk:<public key> or the 64-hex public key: its newest version is downloaded and seeded, and followed)' })
    .option('path', { type: 'string', describe: 'The site folder (default: the output folder\'s name without -peersite); for an address, the folder its versions are downloaded into (default ./peersite-<key>)' })
    .option('tracker', { type: 'string', array: true, describe: 'Tracker URL: ws(s):// for WebRTC peers, http(s):// or udp:// for TCP peers (repeatable; default: the torrent\'s own)' })
    .option('check', { type: 'boolean', default: true, describe: 'Verify every piece before seeding (--no-check: trust the folder)' })
    .option('ice-servers', ICE_SERVERS_OPTION)
}

export type SeedArgs = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>

/** The implementation is loaded only when this command runs: the other commands' start-up does not pay for it. */
export async function handler (argv: SeedArgs): Promise<void> {
  const { run } = await import('../run/seed.js')
  await run(argv)
}
