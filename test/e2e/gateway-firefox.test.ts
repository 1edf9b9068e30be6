/**
 * `peersite gateway` in Firefox ESR (puppeteer-core over WebDriver BiDi, as test/e2e/firefox.test.ts): two sites
 * on one gateway, each at `<id>.localhost` in its own origin, both render from the swarm; site 1's script is
 * refused site 2's storage, caches, cookies and worker; a path, query or fragment naming the other site is ignored;
 * a magnet pasted on the front page lands on the site; a second visitor gets a site from the first.
 * Firefox resolves `*.localhost` to loopback itself (`network.dns.localDomains` is not needed) and treats it as a
 * secure context, with the harness's prefs only.
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e/gateway-firefox.test.ts
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'puppeteer-core'
import { assertInNetns } from '../helpers/webrtc.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { launchFirefox } from './harness.js'
import { startGatewayWorld, siteBytesAsked, type GatewayWorld } from './gateway-fixture.js'

const HELLO_H1 = 'Hello from peersite'
const DOCS_H1 = 'Home'

async function frameH1 (page: Page, text: string, timeout = 30_000): Promise<void> {
  await page.waitForFunction((t) => {
    const frame = document.getElementById('peersite-frame') as HTMLIFrameElement | null
    return frame?.contentDocument?.querySelector('h1')?.textContent === t
  }, { timeout }, text)
}

/** Runs `fn` (source of an async function of the frame's window) in the site frame, as the site's own script. */
async function inFrame<T> (page: Page, fn: string, arg: unknown = null): Promise<T> {
  return await page.evaluate(async (src, a) => {
    const win = (document.getElementById('peersite-frame') as HTMLIFrameElement).contentWindow as Window & typeof globalThis
    // eslint-disable-next-line no-new-func
    return await (new win.Function('a', `return (${src})(a)`) as (a: unknown) => Promise<unknown>)(a)
  }, fn, arg) as T
}

/**
 * The infohash the loader opened. Waited for, not read at once: under load the loader may reload itself once after
 * its frame showed a page (loader/boot.ts, a worker that did not claim the page in time), and a read in between
 * finds the new document before its boot has run.
 */
const infoHashOf = async (page: Page): Promise<string> =>
  await (await page.waitForFunction(() => (window as unknown as { peersite?: { manifest?: { infoHash: string } } }).peersite?.manifest?.infoHash, { timeout: 30_000 })).jsonValue() as string

describe('the gateway: every site in its own origin (Firefox)', () => {
  let world: GatewayWorld
  let browser: Browser
  let profile: TempDir
  let one: Page
  let two: Page

  beforeAll(async () => {
    assertInNetns()
    profile = await makeTempDir('peersite-firefox-gateway-')
    ;[browser, world] = await Promise.all([launchFirefox(profile.path), startGatewayWorld()])
  }, 60_000)

  afterAll(async () => {
    await browser?.close().catch(() => {})
    await world?.close()
    await profile?.cleanup()
  })

  it('two sites on one gateway both render from the swarm', async () => {
    const [s1, s2] = world.sites
    const context = await browser.createBrowserContext()
    one = await context.newPage()
    two = await context.newPage()
    await one.goto(s1.url)
    await two.goto(s2.url)
    await frameH1(one, HELLO_H1)
    await frameH1(two, DOCS_H1)
    await one.waitForFunction(() => {
      const img = (document.getElementById('peersite-frame') as HTMLIFrameElement | null)?.contentDocument?.querySelector('img')
      return img != null && img.complete && img.naturalWidth > 0
    }, { timeout: 20_000 })
    expect(await infoHashOf(one)).toBe(s1.infoHash)
    expect(await infoHashOf(two)).toBe(s2.infoHash)
    expect(siteBytesAsked(world.gateway, s1.result.metainfo.files.map((f) => f.path))).toEqual([])
  }, 90_000)

  it("site 1's script cannot read or change site 2's storage, caches, cookies or worker", async () => {
    const [, s2] = world.sites
    await inFrame(two, 'async () => { localStorage.setItem("who", "site 2"); document.cookie = "who=site2; path=/" }')
    const before2 = await inFrame<{ caches: string[] }>(two, 'async () => ({ caches: (await caches.keys()).sort() })')
    expect(before2.caches.length).toBeGreaterThan(0)
    const tried = await inFrame<Record<string, string>>(one, `async ({ url2, caches2 }) => {
      const out = {}
      const attempt = async (name, fn) => { try { out[name] = 'allowed: ' + String(await fn()) } catch (err) { out[name] = 'refused: ' + err.name } }
      const frame = document.createElement('iframe')
      frame.src = url2
      document.body.append(frame)
      await new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }))
      await attempt('localStorage', () => frame.contentWindow.localStorage.getItem('who'))
      await attempt('document', () => frame.contentWindow.document.cookie)
      await attempt('fetch', async () => await (await fetch(url2 + 'peersite.json')).text())
      await attempt('register', async () => (await navigator.serviceWorker.register(url2 + 'sw.js', { scope: url2 })).scope)
      document.cookie = 'who=site1; domain=localhost; path=/'
      localStorage.setItem('who', 'site 1')
      out.cachesSeen = (await caches.keys()).filter((n) => caches2.includes(n)).join(',')
      out.deleteCaches = String(await Promise.all(caches2.map((n) => caches.delete(n))))
      return out
    }`, { url2: s2.url, caches2: before2.caches })
    expect(tried.localStorage).toBe('refused: SecurityError')
    expect(tried.document).toBe('refused: SecurityError')
    expect(tried.fetch).toBe('refused: TypeError')
    expect(tried.register).toMatch(/^refused: /)
    expect(tried.cachesSeen).toBe('')
    expect(tried.deleteCaches).not.toContain('true')
    const after2 = await inFrame<{ who: string, cookie: string, caches: string[] }>(two,
      'async () => ({ who: localStorage.getItem("who"), cookie: document.cookie, caches: (await caches.keys()).sort() })')
    expect(after2).toEqual({ who: 'site 2', cookie: 'who=site2', caches: before2.caches })
  }, 60_000)

  it('a path, query or fragment naming another site is ignored', async () => {
    const [s1, s2] = world.sites
    const page = await one.browserContext().newPage()
    await page.goto(`${s1.url}${s2.infoHash}?id=${s2.id}#${s2.id}`)
    await frameH1(page, 'Not found')
    expect(await infoHashOf(page)).toBe(s1.infoHash)
    await page.close()
  }, 60_000)

  it('a magnet pasted on the front page lands on the site', async () => {
    const [, s2] = world.sites
    const page = await (await browser.createBrowserContext()).newPage()
    await page.goto(world.gateway.url)
    await page.waitForSelector('input[name=site]')
    await page.type('input[name=site]', s2.result.magnetURI)
    await page.click('button')
    await frameH1(page, DOCS_H1, 45_000)
    expect(page.url()).toBe(world.gateway.siteUrl(s2.infoHash))
    await page.browserContext().close()
  }, 90_000)

  it('a site opened through the gateway is reseeded by its visitors', async () => {
    const [s1] = world.sites
    await one.waitForFunction(() => (window as unknown as { peersite?: { torrent?: { done: boolean } } }).peersite?.torrent?.done === true, { timeout: 30_000 })
    await world.stopSeeder(s1)
    const second = await (await browser.createBrowserContext()).newPage()
    await second.goto(s1.url)
    await frameH1(second, HELLO_H1, 45_000)
    const uploaded = await one.evaluate(() => (window as unknown as { peersite: { stats(): { uploaded: number } } }).peersite.stats().uploaded)
    expect(uploaded).toBeGreaterThan(0)
    await second.browserContext().close()
  }, 90_000)
})
