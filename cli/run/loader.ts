/** `peersite loader --out DIR`: the generic loader as static files, for a wildcard host (`*.sites.example`). */
import { readdir, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { UsageError } from '../../engine/errors.js'
import { MANIFEST_FILE } from '../../worker/protocol.js'
import { warn } from '../lib/format.js'
import { addedFiles, copyAddedFiles, keptLine } from '../lib/output-folder.js'
import { buildGenericLoader, GENERIC_LOADER_FILES } from '../lib/generic-loader.js'
import { keptAsideWarning, makeOutputStaging, OutputReplacement, undoReplaceOnSignal } from '../lib/paths.js'
import { describeSystemError } from '../lib/system-errors.js'
import { DEFAULT_TRACKERS, iceConfigFor, validateBrowserTrackers } from '../lib/trackers.js'
import type { LoaderArgs } from '../commands/loader.js'

export async function run (argv: LoaderArgs): Promise<void> {
  const given = validateBrowserTrackers(argv.tracker ?? [])
  const trackers = given.length > 0 ? given : [...DEFAULT_TRACKERS]
  const rtcConfig = iceConfigFor(argv.iceServers, trackers)
  const out = resolve(argv.out)
  // Written beside the folder first and moved in whole: nothing half-written. The staging folder is made first: that
  // puts back an earlier output a killed run had moved aside (below), before the folder is read here. Ctrl-C puts
  // the earlier output back and removes the staging folder.
  let replacement: OutputReplacement | undefined
  const forget = undoReplaceOnSignal(out, () => replacement)
  let staging: string
  try {
    staging = await makeOutputStaging(out, `--out ${argv.out}`, (path) => { warn(keptAsideWarning(path)) })
    replacement = new OutputReplacement(staging, out)
  } catch (err) {
    forget()
    throw describeSystemError(err, `create --out ${argv.out}`)
  }
  let kept: string[]
  let files: Awaited<ReturnType<typeof buildGenericLoader>>
  try {
    let existing: string[] = []
    try {
      existing = await readdir(out)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new UsageError(`--out ${argv.out} is a file, not a folder`)
    }
    const foreign = existing.filter((f) => !(GENERIC_LOADER_FILES as readonly string[]).includes(f))
    // An earlier `loader --out` (all its files, and no site's peersite.json): the files added to it since are kept.
    const earlier = GENERIC_LOADER_FILES.every((f) => existing.includes(f)) && !existing.includes(MANIFEST_FILE)
    if (foreign.length > 0 && !earlier) throw new UsageError(`--out ${argv.out} holds other files (${foreign.slice(0, 3).join(', ')}): give a new or empty folder`)
    kept = foreign.length > 0 ? await addedFiles(out, { names: new Set(GENERIC_LOADER_FILES) }) : []
    files = await buildGenericLoader({ trackers, rtcConfig, ...(argv.loaderDir !== undefined ? { loaderDir: argv.loaderDir } : {}) })
    for (const [name, bytes] of files) await writeFile(join(staging, name), bytes)
    await copyAddedFiles(out, staging, kept)
    // The earlier output stays whole until the new one is in place.
    await replacement.run()
  } catch (err) {
    await rm(staging, { recursive: true, force: true })
    forget()
    throw err
  }
  forget()
  if (kept.length > 0) process.stderr.write(`peersite: ${keptLine(kept, out)}\n`)
  process.stdout.write(`generic loader -> ${out} (${[...files.keys()].join(', ')}); trackers: ${trackers.join(', ')}\n`)
}
