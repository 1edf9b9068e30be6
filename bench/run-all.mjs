/**
 * Runs every benchmark in bench/ (each bench/*.mjs that exports `run(): Promise<{ title, markdown }>`), one at
 * a time, prints each table, and writes bench/RESULTS.md with the date, the machine and all tables.
 *
 *   npm run bench      (= sh scripts/in-netns.sh node bench/run-all.mjs; benchmarks of dist/ need `npm run build`)
 *   BENCH_ONLY=raw-datachannel,other npm run bench     to run a subset (file names without .mjs)
 */
import { fork } from 'node:child_process'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { assertInNetns, distBuilt, machine } from './lib/env.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const self = basename(fileURLToPath(import.meta.url))

assertInNetns()

const only = (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean)
const files = (await readdir(here))
  .filter((f) => f.endsWith('.mjs') && f !== self)
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.mjs$/, '')))
  .sort((a, b) => (a === 'raw-datachannel.mjs' ? -1 : b === 'raw-datachannel.mjs' ? 1 : a.localeCompare(b)))
// Only benchmarks: the diagnostic tools beside them (coverage, trace-visit, profile-throughput, store-cost, ...) export
// no run() and do their work when imported, so they are told apart by their text, never imported here.
const benchmarks = []
for (const f of files) if (/^export async function run\b/m.test(await readFile(join(here, f), 'utf8'))) benchmarks.push(f)

const m = machine()
const started = new Date()
console.log(`peersite benchmarks, ${started.toISOString()}`)
console.log(`machine: ${m.line}`)
if (!distBuilt()) {
  console.log('note: dist/ is missing or incomplete: benchmarks that use the build will fail. Run `npm run build` first.')
}

const sections = []
let failures = 0
for (const file of benchmarks) {
  const t0 = performance.now()
  const outcome = await runInChild(join(here, file))
  if (outcome.type === 'skip') continue
  console.log(`\n--- ${file}`)
  const secs = ((performance.now() - t0) / 1000).toFixed(1)
  if (outcome.type === 'result') {
    console.log(`## ${outcome.title}\n\n${outcome.markdown}\n\n(${file}, ${secs} s)`)
    sections.push(`## ${outcome.title}\n\n${outcome.markdown}\n\n<sub>${file}, ${secs} s</sub>`)
  } else {
    failures++
    console.error(`${file} failed: ${outcome.message}`)
    sections.push(`## ${file}\n\nFAILED: ${outcome.message.split('\n')[0]}`)
  }
}

/** One benchmark per process (bench/lib/run-one.mjs): what one leaves running must not slow the next. */
async function runInChild (path) {
  return await new Promise((resolve) => {
    let outcome
    const child = fork(join(here, 'lib', 'run-one.mjs'), [path], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    child.on('message', (msg) => { outcome = msg })
    child.on('exit', (code) => resolve(outcome ?? { type: 'error', message: `exited with code ${code} before reporting` }))
  })
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
