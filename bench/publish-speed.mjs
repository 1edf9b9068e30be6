#!/usr/bin/env node
/**
 * `peersite publish --no-seed` against `find DIR -type f | xargs cat | sha1sum` on the same trees, same run: the
 * command as a user runs it (a fresh node process: start-up included), wall clock and CPU time (user + system, which
 * a loaded machine does not inflate the way it does the wall clock), and peak memory.
 *   - 10,000 small files (100-400 B, about 2.5 MB: the shape of issue 16's slowest row);
 *   - 64 files of 4 MB (256 MB: bytes, not files, are the cost).
 * Also a floor for any Node program: a fresh `node` that lists the tree and lstats, reads and SHA-1s every file on one
 * thread, with none of publish's other work (FLOOR_SCRIPT).
 * BENCH_PUBLISH_BASELINE=/path/to/other/dist/cli/main.js adds an older build (the "before"). Each round runs sha1sum,
 * the floor, the baseline and this build one after the other, so a load that changes during the run weighs on all;
 * BENCH_PUBLISH_ROUNDS rounds (default 5), medians reported, with the load average at the start and the end.
 * The trees and the output folder are made under os.tmpdir() (TMPDIR moves them): publish creates a file per index
 * section, and on an ext4 where other jobs freed many inodes in the last minutes each create can cost ~0.8 ms of kernel
 * CPU (docs/HISTORY.md, eleventh round), which sha1sum, writing nothing, does not pay.
 * Needs /usr/bin/time for CPU and memory figures (wall clock only without it). When NODE_EXTRA_CA_CERTS is set, a
 * `node -e 0` without it is shown too: Node reads those certificates at every start (tens of ms of CPU).
 *
 *   npm run build && node bench/publish-speed.mjs
 * Exports run() -> { title, markdown } for bench/run-all.mjs.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { repoRoot, requireDist } from './lib/env.mjs'
import { envNumber, markdownTable, median } from './lib/table.mjs'

const ROUNDS = envNumber('BENCH_PUBLISH_ROUNDS', 5)

const TIME = '/usr/bin/time'

function sh (script, args = []) {
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', script, 'sh', ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => err ? reject(new Error(`${script}: ${stderr || err.message}`)) : resolve({ stdout, stderr }))
  })
}

/** Wall ms, CPU ms (user + system, children included) and max RSS (KB) of a shell command. */
async function measure (script, args) {
  const timed = existsSync(TIME)
  const t0 = performance.now()
  const { stderr } = await sh(timed ? `${TIME} -f '@@%U %S %M' sh -c '${script.replace(/'/g, "'\\''")}' sh "$@"` : script, args)
  const wall = performance.now() - t0
  const m = /@@([\d.]+) ([\d.]+) (\d+)/.exec(stderr)
  return { wall, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN, rss: m ? Number(m[3]) : NaN }
}

/** The least a Node program does for publish's reads of a tree: list it, lstat, open, read, close and SHA-1 each file. */
const FLOOR_SCRIPT = `import { readdirSync, lstatSync, openSync, readSync, closeSync } from 'node:fs'
import { createHash } from 'node:crypto'
const chunk = Buffer.allocUnsafe(4 << 20)
const hash = createHash('sha1')
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = dir + '/' + entry.name
    if (entry.isDirectory()) { walk(path); continue }
    const size = lstatSync(path).size
    const fd = openSync(path, 'r')
    for (let at = 0; at < size;) { const n = readSync(fd, chunk, 0, chunk.length, at); if (n === 0) break; hash.update(chunk.subarray(0, n)); at += n }
    closeSync(fd)
  }
}
walk(process.argv[2])
process.stdout.write(hash.digest('hex') + '\\n')
`

/** Medians of wall, CPU and max RSS over rounds. */
function medians (runs) {
  return { wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)), rss: median(runs.map((r) => r.rss)) }
}

async function smallTree (dir) {
  let x = 16
  const next = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x }
  for (let d = 0; d < 100; d++) {
    const sub = join(dir, `section-${String(d).padStart(2, '0')}`)
    await mkdir(sub, { recursive: true })
    for (let i = 0; i < 100; i++) {
      const n = 100 + (next() % 301)
      await writeFile(join(sub, `page-${i}.html`), `<!doctype html><title>${d}/${i}</title><link rel=stylesheet href=../style.css><p>${'x'.repeat(n)}`)
    }
  }
  await writeFile(join(dir, 'style.css'), 'p { color: #333 }\n')
}

async function bigTree (dir) {
  await mkdir(dir, { recursive: true })
  const chunk = Buffer.alloc(4 << 20)
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < chunk.length; j += 4) chunk.writeUInt32LE((i * 2654435761 + j * 40503) >>> 0, j)
    await writeFile(join(dir, `blob-${String(i).padStart(2, '0')}.bin`), chunk)
  }
}

export async function run ({ log = (s) => process.stderr.write(s + '\n') } = {}) {
  requireDist('bench/publish-speed')
  const cli = join(repoRoot, 'dist', 'cli', 'main.js')
  const baseline = process.env.BENCH_PUBLISH_BASELINE
  const work = await mkdtemp(join(tmpdir(), 'peersite-bench-publish-'))
  const rows = []
  const fmt = (r) => [`${(r.wall / 1000).toFixed(2)} s`, Number.isNaN(r.cpu) ? '-' : `${(r.cpu / 1000).toFixed(2)} s`, Number.isNaN(r.rss) ? '-' : `${Math.round(r.rss / 1024)} MB`]
  const load = () => loadavg().map((l) => l.toFixed(1)).join(' ')
  const loads = [load()]
  try {
    const floor = []
    for (let i = 0; i < ROUNDS; i++) floor.push(await measure('node "$1" --version > /dev/null', [cli]))
    rows.push(['node start-up (`peersite --version`)', '-', ...fmt(medians(floor)), '-'])
    // Node itself: what any Node program pays before its first line, against sha1sum's whole run below.
    const bare = []
    for (let i = 0; i < ROUNDS; i++) bare.push(await measure('node -e 0', []))
    rows.push(['node start-up alone (`node -e 0`)', '-', ...fmt(medians(bare)), '-'])
    // NODE_EXTRA_CA_CERTS makes every Node process parse its certificates (and Node's own roots) before any
    // JavaScript runs: about 90 ms of CPU per process here with the system's bundle, paid by each publish and
    // `node -e 0` above alike, not by sha1sum. Shown apart so that Node's start-up is not mistaken for publish's.
    if (process.env.NODE_EXTRA_CA_CERTS !== undefined) {
      const noCa = []
      for (let i = 0; i < ROUNDS; i++) noCa.push(await measure('env -u NODE_EXTRA_CA_CERTS node -e 0', []))
      rows.push(['node start-up alone, without NODE_EXTRA_CA_CERTS (set here)', '-', ...fmt(medians(noCa)), '-'])
    }
    const floorScript = join(work, 'floor.mjs')
    await writeFile(floorScript, FLOOR_SCRIPT)
    for (const [label, make] of [['10,000 files of 100-400 B', smallTree], ['64 files of 4 MB (256 MB)', bigTree]]) {
      const dir = join(work, 'site')
      await rm(dir, { recursive: true, force: true })
      log(`bench/publish-speed: ${label}: writing the tree`)
      await make(dir)
      await sh('find "$1" -type f -print0 | xargs -0 cat > /dev/null', [dir]) // warm the page cache
      const publishWith = (main) => measure('node "$1" publish "$2" --out "$3" --no-seed --tracker ws://127.0.0.1:9 --json > /dev/null', [main, dir, join(work, 'out')])
      const runs = { sha: [], floor: [], base: [], now: [] }
      for (let i = 0; i < ROUNDS; i++) {
        log(`bench/publish-speed: ${label}: round ${i + 1} of ${ROUNDS} (load ${load()})`)
        runs.sha.push(await measure('find "$1" -type f -print0 | xargs -0 cat | sha1sum > /dev/null', [dir]))
        runs.floor.push(await measure('node "$1" "$2" > /dev/null', [floorScript, dir]))
        if (baseline !== undefined) runs.base.push(await publishWith(baseline))
        runs.now.push(await publishWith(cli))
      }
      const sha = medians(runs.sha)
      rows.push([label, '`find | xargs cat | sha1sum`', ...fmt(sha), '100%'])
      const fl = medians(runs.floor)
      rows.push([label, 'floor: node lists, lstats, reads, SHA-1s (one thread)', ...fmt(fl), `${(100 * sha.wall / fl.wall).toFixed(0)}%`])
      if (baseline !== undefined) {
        const b = medians(runs.base)
        rows.push([label, 'publish, baseline build', ...fmt(b), `${(100 * sha.wall / b.wall).toFixed(0)}%`])
      }
      const p = medians(runs.now)
      rows.push([label, 'publish, this build', ...fmt(p), `${(100 * sha.wall / p.wall).toFixed(0)}%`])
    }
    loads.push(load())
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  const title = 'publish speed against sha1sum over the same tree'
  const markdown = [`### ${title}`, '',
    markdownTable(['tree', 'what', `wall (median of ${ROUNDS})`, 'CPU user+sys', 'peak RSS', 'speed vs sha1sum (wall)'], rows, ['l', 'l', 'r', 'r', 'r', 'r']),
    '', `Whole commands in fresh processes (node start-up included), alternating round by round. Load average (1, 5, 15 min) at the start: ${loads[0]}; at the end: ${loads[1] ?? '-'}. CPU time is the steadier figure on a shared machine.`, ''].join('\n')
  return { title, markdown }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { markdown } = await run()
  process.stdout.write(markdown + '\n')
}
