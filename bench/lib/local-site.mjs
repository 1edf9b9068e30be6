/**
 * A site published like `peersite publish DIR --local`, for the browser benchmarks: a WebSocket tracker and a static
 * server for the output folder on 127.0.0.1, and a Node seeder (its own tracker path: see trackerUrl in swarm.mjs).
 * Uses the BUILT code in dist/ (or PEERSITE_BENCH_DIST).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from './env.mjs'
import { dist, rtcConfig } from './swarm.mjs'

/**
 * @param {string} dir the site folder
 * @param {{ label?: string, trackerIntervalMs?: number, announceIntervalMs?: number,
 *   seed?: (a: { out: string, root: string, result: any, trackerPort: number }) => Promise<{ stats: () => any, close: () => Promise<void> }> }} [opts]
 *   `seed` replaces the in-process seeder (bench/lib/netns-seeder.mjs: one in its own network namespace); the tracker
 *   then listens on 0.0.0.0 of the private namespace so that the seeder's namespace reaches it, and the site names
 *   it as ws://127.0.0.1:PORT.
 */
export async function startLocalSite (dir, opts = {}) {
  const { publishSite } = await dist('cli/lib/publish.js')
  const { startStaticServer } = await dist('cli/lib/static-server.js')
  const { startTrackerServer } = await dist('cli/lib/tracker-server.js')
  const { startSeeder } = await dist('cli/lib/swarm.js')
  const loaderDir = join(process.env.PEERSITE_BENCH_DIST || join(repoRoot, 'dist'), 'browser')
  const work = await mkdtemp(join(tmpdir(), `peersite-bench-${opts.label ?? 'site'}-`))
  const out = join(work, 'out')
  const closers = [async () => await rm(work, { recursive: true, force: true })]
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await Promise.resolve().then(close).catch(() => {})
  }
  try {
    const tracker = await startTrackerServer({ host: opts.seed !== undefined ? '0.0.0.0' : '127.0.0.1', ...(opts.trackerIntervalMs !== undefined ? { intervalMs: opts.trackerIntervalMs } : {}) })
    closers.push(() => tracker.close())
    const server = await startStaticServer({ root: out, host: '127.0.0.1', ...(opts.onRequest !== undefined ? { onRequest: opts.onRequest } : {}) })
    closers.push(() => server.close())
    const t0 = performance.now()
    const trackerUrl = `ws://127.0.0.1:${tracker.port}`
    const result = await publishSite({ dir, out, trackers: [trackerUrl], loaderDir })
    const publishMs = performance.now() - t0
    let seeder = opts.seed !== undefined ? await opts.seed({ out, root: result.plan.site.root, result, trackerPort: tracker.port }) : await startSeeder({
      metainfo: result.metainfo,
      root: result.plan.site.root,
      trackers: [`${trackerUrl}/seeder`],
      rtcConfig,
      ...(opts.announceIntervalMs !== undefined ? { announceIntervalMs: opts.announceIntervalMs } : {})
    })
    closers.push(async () => { const s = seeder; seeder = undefined; await s?.close() })
    return {
      url: server.url,
      out,
      server,
      tracker,
      seeder,
      result,
      publishMs,
      /** The Node seeder's figures (undefined once stopped). */
      seederStats: () => seeder?.stats(),
      async stopSeeder () { const s = seeder; seeder = undefined; await s?.close() },
      close: closeAll
    }
  } catch (err) {
    await closeAll()
    throw err
  }
}
