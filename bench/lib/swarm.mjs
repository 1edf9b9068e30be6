/**
 * Shared set-up for the swarm benchmarks (get-throughput, first-piece): a generated site under bench/.data/
 * (reused between runs), published with the default piece-length rule, a WebSocket tracker on 127.0.0.1 and a
 * seeder that has already announced to it. Everything comes from the BUILT code in dist/ (`npm run build`).
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { fork } from 'node:child_process'
import { repoRoot } from './env.mjs'

export const rtcConfig = { iceServers: [] }

/**
 * Imports a module of dist/ with a clear error when the build is missing. PEERSITE_BENCH_DIST=/some/copy/of/dist
 * points the benchmarks at another build (A/B comparisons of an engine change; the copy must live inside this
 * repository so that its imports resolve node_modules/).
 */
export async function dist (rel) {
  const path = join(process.env.PEERSITE_BENCH_DIST || join(repoRoot, 'dist'), rel)
  try {
    await stat(path)
  } catch {
    throw new Error(`${path} is missing: run \`npm run build\` (or \`npx tsc -b\`) first`)
  }
  return await import(pathToFileURL(path).href)
}

/**
 * A website-shaped folder of `totalBytes` bytes: a few small text files and four large binary assets (random,
 * incompressible), under bench/.data/site-<N>mb/. Generated once, reused afterwards.
 */
export async function ensureSite (totalBytes = 100e6) {
  const dir = join(repoRoot, 'bench', '.data', `site-${Math.round(totalBytes / 1e6)}mb`)
  const small = [
    ['index.html', 4_000],
    ['css/style.css', 20_000],
    ['js/app.js', 150_000],
    ['about/index.html', 6_000]
  ]
  const smallTotal = small.reduce((s, [, n]) => s + n, 0)
  const bigCount = 4
  const big = Array.from({ length: bigCount }, (_, i) => {
    const base = Math.floor((totalBytes - smallTotal) / bigCount)
    const size = i === bigCount - 1 ? totalBytes - smallTotal - base * (bigCount - 1) : base
    return [`media/asset-${i + 1}.bin`, size]
  })
  for (const [path, size] of [...small, ...big]) {
    const full = join(dir, path)
    try {
      if ((await stat(full)).size === size) continue
    } catch {}
    await mkdir(join(full, '..'), { recursive: true })
    await writeFile(full, randomBytes(size))
  }
  return { dir, bytes: totalBytes, files: [...small, ...big].map(([path, size]) => ({ path, size })) }
}

/** Publishes `dir` (default piece length) into a temporary output folder; returns the metainfo and torrent bytes. */
export async function publish (dir) {
  const { publishSite } = await dist('cli/lib/publish.js')
  const work = await mkdtemp(join(tmpdir(), 'peersite-bench-publish-'))
  try {
    const loaderDir = join(work, 'loader')
    await mkdir(loaderDir)
    // Empty stand-ins: the benchmarks' visitors are Node peers, which need the torrent only.
    const { LOADER_FILES } = await dist('cli/lib/package.js')
    for (const f of LOADER_FILES) await writeFile(join(loaderDir, f), '')
    const result = await publishSite({ dir, out: join(work, 'out'), trackers: [], loaderDir })
    const torrent = await readFile(join(result.out, 'site.torrent'))
    return { metainfo: result.metainfo, torrent, infoHash: result.infoHash }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/**
 * bittorrent-tracker's client shares one WebSocket per announce URL within a process, and the tracker's offers do
 * not name their recipient: each peer of this process gets its own path on the same tracker (the server ignores
 * the path). Real peers live in separate processes, which is what this imitates.
 */
let urlCounter = 0
export function trackerUrl (tracker, name) {
  return `${tracker.url}/${encodeURIComponent(name)}-${++urlCounter}`
}

/**
 * `ask(msg, type)` for a bench/lib/seeder-process.mjs child: sends `msg` (none: just waits) and resolves with the
 * child's next message of `type`; rejects once the child has exited (`exited`: a promise of its exit code).
 */
export function seederAsker (child, exited) {
  return async (msg, type) => await new Promise((resolve, reject) => {
    const onMessage = (reply) => {
      if (reply?.type !== type) return
      child.off('message', onMessage)
      resolve(reply)
    }
    child.on('message', onMessage)
    void exited.then((code) => reject(new Error(`seeder process exited (${code})`)))
    if (msg !== undefined) child.send(msg)
  })
}

/**
 * A tracker on 127.0.0.1 and a seeder of `site` that has announced to it (a warm tracker). The seeder runs in
 * a child process (bench/lib/seeder-process.mjs), like a real seeder on another machine.
 */
export async function startSwarm (site, metainfo, torrent) {
  const { startTrackerServer } = await dist('cli/lib/tracker-server.js')
  const tracker = await startTrackerServer({ intervalMs: 30_000 })
  const child = fork(join(repoRoot, 'bench', 'lib', 'seeder-process.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const ask = seederAsker(child, exited)
  const warnings = []
  try {
    child.send({ siteDir: site.dir, torrent: Buffer.from(torrent).toString('base64'), trackers: [trackerUrl(tracker, 'seeder')], rtcConfig })
    await ask(undefined, 'ready')
  } catch (err) {
    child.kill()
    await tracker.close()
    throw err
  }
  const seeder = {
    async stats () {
      const reply = await ask('stats', 'stats')
      warnings.splice(0, warnings.length, ...reply.warnings)
      return reply.stats
    },
    /** The seeder process's CPU time so far (process.cpuUsage(), microseconds). */
    async cpu () {
      return (await ask('stats', 'stats')).cpu
    },
    async close () {
      child.send('close')
      const timer = setTimeout(() => child.kill(), 5000)
      await exited
      clearTimeout(timer)
    }
  }
  return {
    tracker,
    seeder,
    warnings,
    async close () {
      await seeder.close()
      await tracker.close()
    }
  }
}

/** A fresh, empty temporary folder for a download's `out` (the folder itself must not exist yet). */
export async function tempOut (label) {
  const parent = await mkdtemp(join(tmpdir(), `peersite-bench-${label}-`))
  return { out: join(parent, 'copy'), cleanup: async () => await rm(parent, { recursive: true, force: true }) }
}

/** SHA-1 of every file under `root`, keyed by relative path. */
export async function digestTree (root, prefix = '') {
  const out = {}
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`
    if (entry.isDirectory()) Object.assign(out, await digestTree(root, rel))
    else out[rel] = createHash('sha1').update(await readFile(join(root, rel))).digest('hex')
  }
  return out
}

/** Throws unless the two trees hold the same files with the same bytes. */
export async function assertSameTree (a, b) {
  const [da, db] = [await digestTree(a), await digestTree(b)]
  const ka = Object.keys(da).sort()
  const kb = Object.keys(db).sort()
  if (ka.join('\n') !== kb.join('\n')) throw new Error(`file lists differ: ${ka.join(',')} vs ${kb.join(',')}`)
  for (const k of ka) if (da[k] !== db[k]) throw new Error(`${k} differs after download`)
}
