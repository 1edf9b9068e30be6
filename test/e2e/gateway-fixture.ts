/**
 * What the gateway tests share (Chromium and Firefox): one tracker, two sites published to it and seeded, and a
 * `peersite gateway` that knows only that tracker; everything on 127.0.0.1 inside the test's network namespace.
 */
import { join } from 'node:path'
import { startOriginGateway, type OriginGateway } from '../../cli/lib/origin-gateway.js'
import { publishSite, type PublishResult } from '../../cli/lib/publish.js'
import { startSeeder, type Seeder } from '../../cli/lib/swarm.js'
import { siteIdOf } from '../../engine/util/site-id.js'
import { makeTempDir } from '../helpers/tmp.js'
import { startTrackerServer, trackerUrlFor, type TrackerServer } from '../helpers/tracker.js'
import { rtcConfig } from '../helpers/webrtc.js'
import { assertLoaderBuilt, loaderDir, repoRoot } from './harness.js'

export const HELLO = join(repoRoot, 'examples', 'hello')
export const DOCS = join(repoRoot, 'test', 'fixtures', 'sites', 'docs')

export interface GatewaySite {
  readonly result: PublishResult
  readonly infoHash: string
  readonly id: string
  readonly url: string
  seeder: Seeder | undefined
}

export interface GatewayWorld {
  readonly tracker: TrackerServer
  readonly gateway: OriginGateway
  readonly sites: readonly [GatewaySite, GatewaySite]
  stopSeeder (site: GatewaySite): Promise<void>
  close (): Promise<void>
}

export async function startGatewayWorld (): Promise<GatewayWorld> {
  assertLoaderBuilt()
  const tmp = await makeTempDir('peersite-gateway-')
  const tracker = await startTrackerServer({ host: '127.0.0.1', intervalMs: 5_000 })
  const sites: GatewaySite[] = []
  for (const [i, dir] of [HELLO, DOCS].entries()) {
    const result = await publishSite({ dir, out: join(tmp.path, `out${i}`), trackers: [tracker.url], loaderDir })
    const seeder = await startSeeder({
      metainfo: result.metainfo,
      root: result.plan.site.root,
      trackers: [trackerUrlFor(tracker, `seeder${i}`)],
      rtcConfig,
      announceIntervalMs: 5_000
    })
    sites.push({ result, infoHash: result.infoHash, id: siteIdOf(result.infoHash), url: '', seeder })
  }
  const gateway = await startOriginGateway({ trackers: [tracker.url], rtcConfig, loaderDir })
  const withUrls = sites.map((s) => Object.assign(s, { url: gateway.siteUrl(s.infoHash) })) as [GatewaySite, GatewaySite]
  return {
    tracker,
    gateway,
    sites: withUrls,
    stopSeeder: async (site) => {
      const s = site.seeder
      site.seeder = undefined
      await s?.close()
    },
    close: async () => {
      for (const s of withUrls) await s.seeder?.close()
      await gateway.close()
      await tracker.close()
      await tmp.cleanup()
    }
  }
}

/** Paths the gateway may be asked for on a site's origin: the loader's files, and navigations answered with the loader. */
export function siteBytesAsked (gateway: OriginGateway, files: readonly string[]): string[] {
  const asked = new Set(gateway.requests.filter((r) => r.host !== 'localhost').map((r) => r.path.slice(1)))
  // A navigation to a site path (a first visit to a deep link) is answered with the loader; a subresource (style,
  // script, image, font) must never be: those come from the swarm through the worker.
  return files.filter((f) => !f.endsWith('.html') && asked.has(f))
}
