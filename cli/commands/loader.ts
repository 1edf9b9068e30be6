/** `peersite loader --out DIR`: the generic loader as static files, for a wildcard host (`*.sites.example`). */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { ArgumentsCamelCase, Argv } from 'yargs'
import { UsageError } from '../../engine/errors.js'
import { buildGenericLoader, GENERIC_LOADER_FILES } from '../lib/generic-loader.js'
import { DEFAULT_TRACKERS, ICE_SERVERS_OPTION, iceConfigFor, validateBrowserTrackers } from '../lib/trackers.js'

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

export async function handler (argv: LoaderArgs): Promise<void> {
  const given = validateBrowserTrackers(argv.tracker ?? [])
  const trackers = given.length > 0 ? given : [...DEFAULT_TRACKERS]
  const rtcConfig = iceConfigFor(argv.iceServers, trackers)
  const out = resolve(argv.out)
  let existing: string[] = []
  try {
    existing = await readdir(out)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new UsageError(`--out ${argv.out} is a file, not a folder`)
  }
  const foreign = existing.filter((f) => !(GENERIC_LOADER_FILES as readonly string[]).includes(f))
  if (foreign.length > 0) throw new UsageError(`--out ${argv.out} holds other files (${foreign.slice(0, 3).join(', ')}): give a new or empty folder`)
  const files = await buildGenericLoader({ trackers, rtcConfig, ...(argv.loaderDir !== undefined ? { loaderDir: argv.loaderDir } : {}) })
  // Written beside the folder first and moved in whole: nothing half-written.
  const staging = join(dirname(out), `.${out.split('/').pop() ?? 'loader'}.peersite-partial-${process.pid}`)
  await rm(staging, { recursive: true, force: true })
  await mkdir(staging, { recursive: true })
  try {
    for (const [name, bytes] of files) await writeFile(join(staging, name), bytes)
    await rm(out, { recursive: true, force: true })
    await rename(staging, out)
  } catch (err) {
    await rm(staging, { recursive: true, force: true })
    throw err
  }
  process.stdout.write(`generic loader -> ${out} (${[...files.keys()].join(', ')}); trackers: ${trackers.join(', ')}\n`)
}
