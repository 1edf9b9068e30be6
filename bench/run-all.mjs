/**
 * Runs every benchmark in bench/ (each bench/*.mjs that exports `run(): Promise<{ title, markdown }>`), one at
 * a time, prints each table, and writes bench/RESULTS.md with the date, the machine and all tables.
 *
 *   npm run bench      (= sh scripts/in-netns.sh node bench/run-all.mjs; benchmarks of dist/ need `npm run build`)
 *   BENCH_ONLY=raw-datachannel,other npm run bench     to run a subset (file names without .mjs)
 */
import { readdir, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { assertInNetns, distBuilt, machine } from './lib/env.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const self = basename(fileURLToPath(import.meta.url))

assertInNetns()

const only = (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean)
const files = (await readdir(here))
  .filter((f) => f.endsWith('.mjs') && f !== self)
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.mjs$/, '')))
  .sort((a, b) => (a === 'raw-datachannel.mjs' ? -1 : b === 'raw-datachannel.mjs' ? 1 : a.localeCompare(b)))

const m = machine()
const started = new Date()
console.log(`peersite benchmarks, ${started.toISOString()}`)
console.log(`machine: ${m.line}`)
if (!distBuilt()) {
  console.log('note: dist/ is missing or incomplete: benchmarks that use the build will fail. Run `npm run build` first.')
}

const sections = []
let failures = 0
for (const file of files) {
  const mod = await import(pathToFileURL(join(here, file)).href)
  if (typeof mod.run !== 'function') continue
  console.log(`\n--- ${file}`)
  const t0 = performance.now()
  try {
    const { title, markdown } = await mod.run()
    const secs = ((performance.now() - t0) / 1000).toFixed(1)
    console.log(`## ${title}\n\n${markdown}\n\n(${file}, ${secs} s)`)
    sections.push(`## ${title}\n\n${markdown}\n\n<sub>${file}, ${secs} s</sub>`)
  } catch (err) {
    failures++
    const msg = err instanceof Error ? (err.stack ?? err.message) : String(err)
    console.error(`${file} failed: ${msg}`)
    sections.push(`## ${file}\n\nFAILED: ${String(err instanceof Error ? err.message : err).split('\n')[0]}`)
  }
}

const header = [
  '# peersite benchmark results',
  '',
  `- date: ${started.toISOString()}`,
  `- machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB RAM, ${m.platform}`,
  `- node: ${m.node}`,
  '- network: a private network namespace (veth pair 10.77.0.1 <-> 10.77.0.2), no STUN; every peer on this machine',
  '',
  'Written by `npm run bench` (bench/run-all.mjs). Ratios compare with the raw data channel ceiling measured in',
  'the same run.',
  ''
].join('\n')
const out = join(here, 'RESULTS.md')
await writeFile(out, `${header}\n${sections.join('\n\n')}\n`)
console.log(`\nwrote ${out}${failures > 0 ? ` (${failures} benchmark(s) failed)` : ''}`)
// Native WebRTC handles can keep the loop alive after the last benchmark: exit explicitly.
process.exit(failures > 0 ? 1 : 0)
