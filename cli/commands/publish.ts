/** `peersite publish <dir>`: hash a folder into a torrent, write the loader beside it, and seed it. */
import type { ArgumentsCamelCase, Argv } from 'yargs'
import { withNetworkOptions } from '../lib/network-options.js'

export const command = 'publish <dir>'
export const describe = 'Hash a folder into a torrent, write the loader next to it, and seed it'

export function builder (yargs: Argv) {
  return withNetworkOptions(yargs)
    .positional('dir', { type: 'string', demandOption: true, describe: 'The site folder' })
    .option('out', { type: 'string', describe: 'Output folder (default: <dir>-peersite beside the folder)' })
    .option('tracker', { type: 'string', array: true, describe: 'Tracker URL (repeatable; default: the public WebTorrent trackers): ws(s):// ones serve browsers, http(s):// and udp:// ones ordinary BitTorrent clients' })
    .option('piece-length', { type: 'string', describe: 'Piece length, e.g. 64KiB or 1MiB (default: grows with the site, 16KiB-1MiB)' })
    .option('prefetch-limit', { type: 'string', describe: 'Bytes a visitor fetches in the background after the first page, e.g. 50MB, 1GB, 0 (default: 5MB); bigger sites prefetch their smallest files and leave big media on demand' })
    .option('spa', { type: 'boolean', default: false, describe: 'A single-page app: unknown paths get /index.html with status 200 (its router shows the page)' })
    .option('index', { type: 'boolean', describe: 'Write a sectioned index of the files (a first visit then fetches only the part of the file table it needs) instead of listing every file in peersite.json (default: from 1,000 files on; --no-index: never)' })
    .option('local', { type: 'boolean', default: false, describe: 'Run a tracker and a static server on 127.0.0.1 in this process; contact nothing outside the machine' })
    .option('port', { type: 'number', describe: 'HTTP port of the --local static server (default: a free one)' })
    .option('seed', { type: 'boolean', default: true, describe: 'Keep seeding after writing (--no-seed: exit)' })
    .option('key', { type: 'string', describe: 'Site key file (ed25519): used if it exists, created (mode 0600) if not. Gives the site a permanent address that every later publish with this key updates. Back it up: a lost key cannot be recovered' })
    .option('web-seed', { type: 'string', array: true, describe: 'A web seed (BEP 19, repeatable): an http(s) folder holding <name>/<files>; browsers and Node peers fetch from it when no peer delivers. Another origin must allow CORS' })
    .option('with-files', { type: 'boolean', default: false, describe: 'Also copy the site\'s files into the output (under <name>/): the static host serving the loader is then a web seed, and the site loads with no peer online' })
    .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object { infoHash, id, magnetURI, url, out } on stdout (with --key also publicKey, keyId, seq, address)' })
    .option('ice-servers', { type: 'string', describe: 'ICE servers for WebRTC: "none", "default" (public STUN) or stun:/turn: URLs (default: none with --local or 127.0.0.1 trackers)' })
    .example('$0 publish ./site --local', 'Publish and serve on this machine only')
    .example('$0 publish ./site --tracker wss://tracker.example.org', 'Publish, announce to your own tracker, and seed')
    .example('$0 publish ./site --with-files', 'Also upload the files with the loader: the site loads even when no peer is online')
    .example('$0 publish ./site --key ~/.peersite/site.key', 'Publish a new version under the permanent address of this key')
}

export type PublishArgs = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>> & { loaderDir?: string }

/** The implementation is loaded only when this command runs: the other commands' start-up does not pay for it. */
export async function handler (argv: PublishArgs): Promise<void> {
  const { run } = await import('../run/publish.js')
  await run(argv)
}
