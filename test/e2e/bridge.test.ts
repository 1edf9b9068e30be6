/**
 * Bridging (issue 13): a browser visitor gets a site whose only seeder is an ordinary BitTorrent client that speaks
 * TCP only (aria2c), through a hybrid peersite peer (`peersite serve` as a process) that fetches the pieces over
 * TCP and serves them to Chromium over WebRTC. One tracker (in process, 127.0.0.1) answers both sides: WebSocket
 * announces for the browser and the hybrid peer, HTTP announces for aria2c and the hybrid peer.
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e/bridge.test.ts
 */
import { cp } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { publishSite } from '../../cli/lib/publish.js'
import { startStaticServer, type StaticServer } from '../../cli/lib/static-server.js'
import { aria2c, waitForSeeders, writePadFiles, type Proc } from '../helpers/bt-clients.js'
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { startTrackerServer, type TrackerServer } from '../helpers/tracker.js'
import { assertInNetns } from '../helpers/webrtc.js'
import { assertLoaderBuilt, launchChromium, loaderDir, loaderState, repoRoot, waitForFrameH1 } from './harness.js'

describe('a TCP-only seeder, bridged to a browser by a hybrid peersite peer', () => {
  let browser: Browser | undefined
  let tmp: TempDir | undefined
  let tracker: TrackerServer | undefined
  let server: StaticServer | undefined
  let seeder: Proc | undefined
  let bridge: ServeProcess | undefined

  beforeAll(async () => {
    assertInNetns()
    assertLoaderBuilt()
    tmp = await makeTempDir('peersite-bridge-')
    const site = join(tmp.path, 'hello')
    await cp(join(repoRoot, 'examples', 'hello'), site, { recursive: true })
    tracker = await startTrackerServer({ host: '127.0.0.1', intervalMs: 5_000 })
    const result = await publishSite({ dir: site, out: join(tmp.path, 'out'), trackers: [tracker.url, tracker.httpUrl!], loaderDir })
    // The loader announces only to WebSocket trackers; the torrent lists the HTTP one for ordinary clients.
    expect(result.manifest.trackers).toEqual([tracker.url])
    server = await startStaticServer({ root: join(tmp.path, 'out'), host: '127.0.0.1' })
    // aria2c knows no BEP 47: the site's pad files must be on disk for its hash check (README "The BitTorrent network").
    expect(await writePadFiles(join(tmp.path, 'out', 'site.torrent'), tmp.path)).toBeGreaterThan(0)
    seeder = aria2c(['-V', '--seed-ratio=0.0', '--seed-time=120', '-d', tmp.path, join(tmp.path, 'out', 'site.torrent')])
    await waitForSeeders(tracker.httpUrl!, result.metainfo.infoHash)
    bridge = await startServeProcess(join(tmp.path, 'out', 'site.torrent'), ['--ice-servers', 'none'])
    browser = await launchChromium()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await bridge?.stop()
    await seeder?.stop()
    await server?.close()
    await tracker?.close()
    await tmp?.cleanup()
  })

  it('the page renders from pieces that came from aria2c over TCP, then over WebRTC', async () => {
    const page = await (await browser!.newContext()).newPage()
    await page.goto(server!.url)
    await waitForFrameH1(page, 'Hello from peersite', 60_000)
    // The browser's only peer is the bridge (aria2c cannot speak WebRTC), and it downloaded from it.
    const state = await loaderState(page)
    expect(state?.downloaded).toBeGreaterThan(0)
    // The bridge had nothing of its own: what it served came from aria2c (its status line counts bytes down and up).
    await expect.poll(() => /up [1-9][^·]*· down [1-9]/.test(bridge!.stderr()), { timeout: 30_000 }).toBe(true)
  }, 90_000)
})
