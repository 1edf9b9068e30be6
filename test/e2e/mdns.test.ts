/**
 * Chromium with its default WebRTC privacy, as visitors have it: host addresses behind mDNS `.local` names (no
 * `WebRtcHideLocalIpsWithMdns` flag, which every other Chromium test sets). A visitor loads the site from the Node
 * seeder and navigates; after the seeder stops, a second visitor gets the site from the first (both sides hide
 * their addresses).
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e/mdns.test.ts
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { CHROMIUM_ARGS_DEFAULT_PRIVACY, loaderState, repoRoot, siteFrame, useChromiumAndSite, waitForFrameH1 } from './harness.js'

const HOME_H1 = 'Hello from peersite'

describe('Chromium with its default WebRTC privacy (mDNS host candidates)', () => {
  const env = useChromiumAndSite(join(repoRoot, 'examples', 'hello'), {}, CHROMIUM_ARGS_DEFAULT_PRIVACY)
  let home: Page

  it('runs Chromium without the flag that shows host addresses', () => {
    expect(CHROMIUM_ARGS_DEFAULT_PRIVACY.join(' ')).not.toMatch(/WebRtcHideLocalIpsWithMdns/)
  })

  it('a visitor loads the site from the Node seeder and navigates', async () => {
    home = await (await env.newContext()).newPage()
    await home.goto(env.site.url)
    const frame = await waitForFrameH1(home, HOME_H1)
    await frame.click('a[href="docs/guide/"]')
    await waitForFrameH1(home, 'Guide')
    expect(home.url()).toBe(`${env.site.url}docs/guide/`)
    // The offer this page made hides its host addresses (what the setting is about).
    const candidates = await home.evaluate(async () => {
      const pc = new RTCPeerConnection({ iceServers: [] })
      pc.createDataChannel('x')
      await pc.setLocalDescription(await pc.createOffer())
      await new Promise((resolve) => { pc.onicecandidate = (e) => { if (e.candidate === null) resolve(null) } })
      const sdp = pc.localDescription?.sdp ?? ''
      pc.close()
      return sdp.split('\n').filter((l) => l.startsWith('a=candidate'))
    })
    expect(candidates.length).toBeGreaterThan(0)
    for (const c of candidates) expect(c).toMatch(/ [0-9a-f-]+\.local /)
    expect((await loaderState(home))?.peers).toBeGreaterThanOrEqual(1)
  }, 60_000)

  it('a second visitor gets the site from the first after the seeder stops', async () => {
    await (await siteFrame(home)).evaluate(() => history.back())
    await waitForFrameH1(home, HOME_H1)
    await home.waitForFunction(() => (window as unknown as { peersite?: { torrent?: { done: boolean } } }).peersite?.torrent?.done === true, undefined, { timeout: 30_000 })
    await env.site.stopSeeder()
    const page = await (await env.newContext()).newPage()
    await page.goto(env.site.url)
    const frame = await waitForFrameH1(page, HOME_H1, 45_000)
    await frame.waitForFunction(() => {
      const img = document.querySelector('img')
      return img !== null && img.complete && img.naturalWidth > 0
    })
    const second = await loaderState(page)
    expect(second?.peers).toBeGreaterThanOrEqual(1)
    expect(second?.downloaded).toBeGreaterThan(0)
    expect((await loaderState(home))?.uploaded).toBeGreaterThan(0)
  }, 90_000)
})
