#!/usr/bin/env node
/**
 * publish's hashing speed on a generated 1 GB folder, next to `sha1sum` over the same bytes in the same run.
 *
 *   npm run build && node bench/hash.mjs        (BENCH_HASH_MB=256 for a quicker run)
 *
 * The folder (200 files of 5 MB, or BENCH_HASH_MB in total) is generated once under bench/.data/ (gitignored) and
 * reused. Both contenders run twice after a warm-up read, with the page cache warm, and the best time counts: this
 * compares hashing pipelines, not disks. `sha1sum` hashes the concatenation of all files (`cat ... | sha1sum`),
 * which is the same bytes publish hashes piece by piece, and `sha1sum FILE...` (no pipe); the faster one is the
 * reference.
 *
 * Exports run() -> { title, markdown } for bench/run-all.mjs.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const FILE_MB = 5

async function loadPublish () {
  const path = join(root, 'dist', 'cli', 'lib', 'publish.js')
  try {
    await stat(path)
  } catch {
    throw new Error(`${path} is missing: run \`npm run build\` (or \`npx tsc -b\`) first`)
  }
  return await import(pathToFileURL(path).href)
}

async function ensureData (totalMb) {
  const count = Math.max(1, Math.round(totalMb / FILE_MB))
  const dir = join(root, 'bench', '.data', `hash-${count * FILE_MB}mb`)
  await mkdir(dir, { recursive: true })
  const size = FILE_MB * 1024 * 1024
  const have = new Set(await readdir(dir))
  for (let i = 0; i < count; i++) {
    const name = `file-${String(i).padStart(4, '0')}.bin`
    if (have.has(name) && (await stat(join(dir, name))).size === size) continue
    await writeFile(join(dir, name), randomBytes(size))
  }
  const files = (await readdir(dir)).filter((n) => n.endsWith('.bin')).sort().slice(0, count).map((n) => join(dir, n))
  return { dir, files, bytes: count * size }
}

function sh (script, args) {
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', script, 'sh', ...args], { maxBuffer: 1 << 20 }, (err, stdout) => err ? reject(err) : resolve(stdout))
  })
}

async function best (times, fn) {
  let min = Infinity
  let value
  for (let i = 0; i < times; i++) {
    const t0 = process.hrtime.bigint()
    value = await fn()
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (ms < min) min = ms
  }
  return { ms: min, value }
}

export async function run ({ totalMb = Number(process.env.BENCH_HASH_MB ?? 1000), log = (s) => process.stderr.write(s + '\n') } = {}) {
  const { publishSite } = await loadPublish()
  log(`bench/hash: preparing ${totalMb} MB under bench/.data/ ...`)
  const data = await ensureData(totalMb)
  const work = await mkdtemp(join(tmpdir(), 'peersite-bench-hash-'))
  try {
    log('bench/hash: warming the page cache ...')
    await sh('cat "$@" > /dev/null', data.files)

    log('bench/hash: sha1sum ...')
    const shaPipe = await best(2, () => sh('cat "$@" | sha1sum', data.files))
    // The same bytes without the pipe (one digest per file): the stricter reference.
    const shaFiles = await best(2, () => sh('sha1sum "$@" > /dev/null', data.files))
    const sha = shaFiles.ms < shaPipe.ms ? shaFiles : shaPipe
    log('bench/hash: peersite publish --no-seed ...')
    let pieceLength = 0
    const pub = await best(2, async () => {
      const result = await publishSite({ dir: data.dir, out: join(work, 'out'), trackers: [] }) // the built loader (dist/browser), as the CLI uses
      pieceLength = result.metainfo.pieceLength
      return result
    })

    const mbps = (ms) => (data.bytes / 1e6) / (ms / 1000)
    const rows = [
      ['sha1sum, all files concatenated (cat \\| sha1sum)', shaPipe.ms, mbps(shaPipe.ms)],
      ['sha1sum, file by file (sha1sum FILE...)', shaFiles.ms, mbps(shaFiles.ms)],
      [`peersite publish --no-seed (piece length ${pieceLength / 1024} KiB)`, pub.ms, mbps(pub.ms)]
    ]
    const ratio = mbps(pub.ms) / mbps(sha.ms)
    const title = `publish hashing vs sha1sum, ${(data.bytes / 1e6).toFixed(0)} MB in ${data.files.length} files`
    const markdown = [
      `### ${title}`,
      '',
      '| what | best of 2 | MB/s |',
      '| --- | ---: | ---: |',
      ...rows.map(([name, ms, speed]) => `| ${name} | ${(ms / 1000).toFixed(2)} s | ${speed.toFixed(0)} |`),
      '',
      `publish runs at **${(ratio * 100).toFixed(0)}%** of the faster sha1sum's speed (aim: at least 90%). Page cache warm, same machine, same run.`,
      ''
    ].join('\n')
    return { title, markdown, ratio }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { markdown } = await run()
  process.stdout.write(markdown + '\n')
}
