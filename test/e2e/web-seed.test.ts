/**
 * Web seeds in Chromium (BEP 19): a site published `--with-files` has its files beside the loader, so the static
 * host is a web seed at the loader's own folder. With no peer at all the page renders from it (through the
 * worker, which lets the leader's marked web-seed requests pass and answers the site's own requests from the
 * torrent). A web seed that serves one file altered is refused (the engine hashes every piece) and the page still
 * comes right from a peer; with no peer either, the visitor gets the clear "nobody is sharing" page, never the
 * altered bytes.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { startSeeder } from '../../cli/lib/swarm.js'
import { trackerUrlFor } from '../helpers/tracker.js'
import { assertInNetns, rtcConfig } from '../helpers/webrtc.js'
import { launchChromium, loaderState, repoRoot, startLocalSite, waitForFrameH1, type LocalSite } from './harness.js'

const HELLO = join(repoRoot, 'examples', 'hello')
const H1 = 'Hello from peersite'

async function webSeedBytes (page: Page): Promise<number> {
  return await page.evaluate(() => (window as unknown as { peersite: { stats(): { webSeed: number } | undefined } }).peersite.stats()?.webSeed ?? 0)
}

/** Flips one byte of a file in the output's copy (the web seed), keeping its length. */
async function corrupt (site: LocalSite, path: string): Promise<void> {
  const file = join(site.result.out, site.result.plan.name, path)
  const bytes = await readFile(file)
  bytes[10] = bytes[10]! ^ 0x20
  await writeFile(file, bytes)
}

describe('web seeds in the browser', () => {
  let browser: Browser
  const sites: LocalSite[] = []

  beforeAll(async () => {
    assertInNetns()
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    for (const site of sites) await site.close()
  })

  it('renders a site published --with-files with no peer at all, from the loader\'s own host', async () => {
    const site = await startLocalSite(HELLO, { seed: false, withFiles: true })
    sites.push(site)
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(site.url)
    const frame = await waitForFrameH1(page, H1)
    // The stylesheet came through too (the page is whole, not just its HTML).
    expect(await frame.evaluate(() => document.styleSheets.length)).toBeGreaterThan(0)
    const state = await loaderState(page)
    expect(state?.peers).toBe(0)
    expect(state?.downloaded).toBe(0)
    expect(await webSeedBytes(page)).toBeGreaterThan(0)
    // The leader fetched the files from the host's copy under <name>/, past its own worker.
    expect(site.server.requests).toContain(`/${site.result.plan.name}/index.html`)
    // The frame's own page was answered by the worker from the torrent, not by the host (which has only the loader there).
    expect(await frame.evaluate(() => location.pathname)).toBe('/')
    await context.close()
  })

  it('refuses a web seed that alters a file; the page comes right from a peer', async () => {
    const site = await startLocalSite(HELLO, { seed: false, withFiles: true })
    sites.push(site)
    await corrupt(site, 'index.html')
    const context = await browser.newContext()
    const page = await context.newPage()
    const logs: string[] = []
    page.on('console', (msg) => logs.push(msg.text()))
    await page.goto(site.url)
    // No peer yet: the web seed is asked, its bytes fail their hash, it is dropped.
    await expect.poll(() => logs.some((l) => /web seed .*failed its hash check/.test(l)), { timeout: 20_000 }).toBe(true)
    // A seeder comes online: the page is served, verified, from it.
    site.seeder = await startSeeder({
      metainfo: site.result.metainfo,
      root: site.result.plan.site.root,
      trackers: [trackerUrlFor(site.tracker, 'seeder')],
      rtcConfig,
      announceIntervalMs: 2_000
    })
    await waitForFrameH1(page, H1, 60_000)
    expect((await loaderState(page))?.downloaded).toBeGreaterThan(0)
    await context.close()
  })

  it('with an altered web seed and no peer, says nobody is sharing (never the altered page)', async () => {
    const site = await startLocalSite(HELLO, { seed: false, withFiles: true })
    sites.push(site)
    await corrupt(site, 'index.html')
    const context = await browser.newContext()
    await context.addInitScript(() => { (globalThis as { PEERSITE_DEADLINE_MS?: number }).PEERSITE_DEADLINE_MS = 3000 })
    const page = await context.newPage()
    await page.goto(site.url)
    const full = await page.waitForSelector('#peersite-card.full', { timeout: 20_000 })
    expect(await full.textContent()).toMatch(/Nobody is sharing this site right now/)
    expect(await page.evaluate(() => (document.getElementById('peersite-frame') as HTMLIFrameElement | null)?.contentDocument?.querySelector('h1')?.textContent ?? null)).not.toBe(H1)
    await context.close()
  })
})
