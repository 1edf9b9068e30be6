/**
 * A Chromium visitor whose whole peer list (BROWSER_MAX_PEERS) is taken by silent peers (test/helpers/hostile-peer.ts:
 * they claim every piece, unchoke, accept requests and never send a block) before the honest seeder appears: the
 * seeder still gets a slot and the site renders from it.
 *
 * "Full" is the engine's own measure, the size of its peer list (what admission compares with the cap), recorded at
 * each handshake: the number of live peers at one instant is not a stable thing to wait for, since the engine is
 * right to turn silent peers over (once snubbed they are the first to go when the list is over its cap, e.g. for a
 * second connection attempt between the same two peers). Evicted silent peers come back under new peer ids, as a
 * hostile swarm would, so the list stays full of them until the seeder appears.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { BROWSER_MAX_PEERS } from '../../engine/constants.js'
import { startSeeder } from '../../cli/lib/swarm.js'
import { startHostilePeers, type HostilePeers } from '../helpers/hostile-peer.js'
import { trackerUrlFor } from '../helpers/tracker.js'
import { assertInNetns, rtcConfig } from '../helpers/webrtc.js'
import { launchChromium, loaderState, repoRoot, startLocalSite, waitForFrameH1, type LocalSite } from './harness.js'

describe('silent peers in front of a Chromium visitor', () => {
  let browser: Browser
  let site: LocalSite
  let hostile: HostilePeers | undefined

  beforeAll(async () => {
    assertInNetns()
    ;[browser, site] = await Promise.all([launchChromium(), startLocalSite(join(repoRoot, 'examples', 'hello'), { seed: false })])
  })

  afterAll(async () => {
    await hostile?.close()
    await browser?.close()
    await site?.close()
  })

  it(`${BROWSER_MAX_PEERS} silent peers (the browser's peer cap) connected first: the honest seeder is taken and the site renders`, async () => {
    const context = await browser.newContext()
    // The "nobody is sharing" page must not come first: the silent peers and then the seeder take a few seconds here.
    await context.addInitScript(() => { (globalThis as { PEERSITE_DEADLINE_MS?: number }).PEERSITE_DEADLINE_MS = 60_000 })
    const page = await context.newPage()
    await page.goto(site.url)
    // The engine exists once site.torrent has arrived; from then on, the largest its peer list has been.
    await page.waitForFunction(() => (window as unknown as { peersite?: { torrent?: object } }).peersite?.torrent !== undefined, undefined, { timeout: 30_000 })
    await page.evaluate(() => {
      const w = window as unknown as { peakPeers: number, peersite: { torrent: { peers: ReadonlySet<unknown>, on (event: 'peer', listener: () => void): void } } }
      const torrent = w.peersite.torrent
      w.peakPeers = torrent.peers.size
      torrent.on('peer', () => { w.peakPeers = Math.max(w.peakPeers, torrent.peers.size) })
    })
    hostile = await startHostilePeers({
      mode: 'silent', metainfo: site.result.metainfo, tracker: trackerUrlFor(site.tracker, 'hostile'), count: BROWSER_MAX_PEERS, rtcConfig, reconnect: 3
    })
    await hostile.waitOpen(BROWSER_MAX_PEERS)
    // Every slot held by a silent peer at once (nothing else is in the swarm yet).
    await page.waitForFunction((n) => (window as unknown as { peakPeers: number }).peakPeers >= n, BROWSER_MAX_PEERS, { timeout: 30_000 })
    expect(hostile.requests).toBeGreaterThan(0)

    site.seeder = await startSeeder({
      metainfo: site.result.metainfo,
      root: site.result.plan.site.root,
      trackers: [trackerUrlFor(site.tracker, 'seeder')],
      rtcConfig,
      announceIntervalMs: 5_000
    })
    const frame = await waitForFrameH1(page, 'Hello from peersite', 30_000)
    expect(await frame.textContent('h1')).toBe('Hello from peersite')
    const state = await loaderState(page)
    expect(state?.downloaded).toBeGreaterThan(0)
    expect(site.seeder.stats().uploaded).toBeGreaterThan(0)
    await context.close()
  }, 90_000)
})
