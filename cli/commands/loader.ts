/** `peersite loader --out DIR`: the generic loader as static files, for a wildcard host (`*.sites.example`). */
import type { ArgumentsCamelCase, Argv } from 'yargs'
import { ICE_SERVERS_OPTION } from '../lib/trackers.js'

export const command = 'loader'
export const describe = 'Write the generic loader (every site at <id>.<your wildcard host>) as static files'

export function builder (yargs: Argv) {
  return yargs
    .option('out', { type: 'string', demandOption: true, describe: 'Folder to write (new, empty, or an earlier generic loader)' })
    .option('tracker', { type: 'string', array: true, describe: 'WebSocket tracker URL where sites are looked up (repeatable; default: the public WebTorrent trackers)' })
    .option('ice-servers', ICE_SERVERS_OPTION)
    .example('$0 loader --out ./sites', 'Then serve ./sites for *.sites.example and sites.example (README: "A gateway for every site")')
}

export type LoaderArgs = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>> & { loaderDir?: string }

/** The implementation is loaded only when this command runs: the other commands' start-up does not pay for it. */
export async function handler (argv: LoaderArgs): Promise<void> {
  const { run } = await import('../run/loader.js')
  await run(argv)
}
