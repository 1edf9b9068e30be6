/** `peersite gateway`: every site in its own origin, http://<id>.localhost:PORT/, from one local loader server. */
import type { ArgumentsCamelCase, Argv } from 'yargs'
import { ICE_SERVERS_OPTION } from '../lib/trackers.js'

export const command = 'gateway'
export const describe = 'Open any site by its id at http://<id>.localhost:PORT/, each in its own origin (serves the loader only)'

export function builder (yargs: Argv) {
  return yargs
    .option('port', { type: 'number', default: 8888, describe: 'HTTP port to listen on (0: a free one)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on' })
    .option('tracker', { type: 'string', array: true, describe: 'WebSocket tracker URL where sites are looked up (repeatable; default: the public WebTorrent trackers)' })
    .option('ice-servers', ICE_SERVERS_OPTION)
    .example('$0 gateway', 'Then open http://localhost:8888/ and paste a magnet link')
}

export type GatewayArgs = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>> & { loaderDir?: string }

/** The implementation is loaded only when this command runs: the other commands' start-up does not pay for it. */
export async function handler (argv: GatewayArgs): Promise<void> {
  const { run } = await import('../run/gateway.js')
  await run(argv)
}
