/** `peersite mirror <site>... [--dir DIR]`: fetch sites and keep seeding them from this machine, following site keys. */
import type { ArgumentsCamelCase, Argv } from 'yargs'
import { MIRROR_KEEP_VERSIONS } from '../../engine/constants.js'
import { ICE_SERVERS_OPTION } from '../lib/trackers.js'
import { withNetworkOptions } from '../lib/network-options.js'

export const command = 'mirror <sites..>'
export const describe = 'Keep sites up from this machine: fetch each one and seed it, follow site keys to their newest version, resume after a restart'

export function builder (yargs: Argv) {
  return withNetworkOptions(yargs)
    // `default: undefined`: yargs gives a variadic positional the default [] otherwise, and its help said '[default: []]'
    // for an argument that must be given (the other commands show no default for a required argument either).
    .positional('sites', { type: 'string', array: true, demandOption: true, default: undefined, describe: 'Infohashes, magnet URIs, .torrent files or site keys (64-hex public key or magnet:?xs=urn:btpk:…)' })
    .option('dir', { type: 'string', default: 'peersite-mirror', describe: 'Where the sites are kept (a restart resumes from it)' })
    .option('tracker', { type: 'string', array: true, describe: 'Tracker URL: ws(s):// for WebRTC peers, http(s):// or udp:// for TCP peers (repeatable; added to each site\'s own; default: the public WebTorrent trackers when a site names none)' })
    .option('keep', { type: 'number', default: MIRROR_KEEP_VERSIONS, describe: 'Versions of each keyed site to keep' })
    .option('status-interval', { type: 'number', default: 10, describe: 'Seconds between status lines' })
    .option('ice-servers', ICE_SERVERS_OPTION)
    .example('$0 mirror <public key> --dir /srv/peersite', 'Keep the newest versions of a keyed site up')
}

export type MirrorArgs = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>

/** The implementation is loaded only when this command runs: the other commands' start-up does not pay for it. */
export async function handler (argv: MirrorArgs): Promise<void> {
  const { run } = await import('../run/mirror.js')
  await run(argv)
}
