/**
 * What the browser tests share: Debian's Chromium through playwright-core, and a site published the way
 * `peersite publish DIR --local` does it (an in-process WebSocket tracker, a static server for the output folder,
 * a Node seeder), everything on 127.0.0.1 inside the test's network namespace.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll } from 'vitest'
import { chromium, type Browser, type BrowserContext, type ElementHandle, type Frame, type Page } from 'playwright-core'
import type { Browser as PuppeteerBrowser } from 'puppeteer-core'
import { publishSite, type Manifest, type PublishResult } from '../../cli/lib/publish.js'
import { startStaticServer, type StaticServer } from '../../cli/lib/static-server.js'
import { startSeeder, type Seeder } from '../../cli/lib/swarm.js'
import { startTrackerServer, trackerUrlFor, type TrackerServer } from '../helpers/tracker.js'
import { makeTempDir } from '../helpers/tmp.js'
import { assertInNetns, rtcConfig } from '../helpers/webrtc.js'

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)))
export const loaderDir = join(repoRoot, 'dist', 'browser')
export const CHROMIUM = process.env.PEERSITE_CHROMIUM ?? '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run',
  // Host candidates with real addresses (Node peers cannot resolve mDNS .local names), loopback allowed.
  '--disable-features=WebRtcHideLocalIpsWithMdns', '--allow-loopback-in-peer-connection'
]

/**
 * What visitors' Chromium does: host candidates hidden behind random mDNS `.local` names (no flag). Node peers
 * cannot resolve those, but they still connect (Chromium reaches the Node peer's real address, which learns
 * Chromium's as a peer-reflexive candidate), and Chromium resolves its own names for a Chromium peer.
 */
export const CHROMIUM_ARGS_DEFAULT_PRIVACY = CHROMIUM_ARGS.filter((a) => !a.includes('WebRtcHideLocalIpsWithMdns'))

export async function launchChromium (args: readonly string[] = CHROMIUM_ARGS): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set PEERSITE_CHROMIUM)`)
  return await chromium.launch({ executablePath: CHROMIUM, args: [...args], headless: true })
}

export const FIREFOX = process.env.PEERSITE_FIREFOX ?? '/usr/bin/firefox-esr'

/**
 * Debian's Firefox ESR, headless, driven by puppeteer-core over WebDriver BiDi, with a fresh profile in `profileDir`
 * (one visitor per browser). Real host addresses in ICE candidates (like Chromium's mDNS flag above: Node peers
 * cannot resolve .local names); service workers allowed on http://127.0.0.1 as on any secure context.
 */
export async function launchFirefox (profileDir: string): Promise<PuppeteerBrowser> {
  if (!existsSync(FIREFOX)) throw new Error(`${FIREFOX} is missing: apt-get install -y firefox-esr (or set PEERSITE_FIREFOX)`)
  const puppeteer = (await import('puppeteer-core')).default
  return await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: FIREFOX,
    headless: true,
    userDataDir: profileDir,
    extraPrefsFirefox: {
      'media.peerconnection.ice.obfuscate_host_addresses': false,
      'dom.serviceWorkers.testing.enabled': true
    }
  })
}

export function assertLoaderBuilt (): void {
  for (const file of ['index.html', '404.html', 'sw.js', 'peersite.js', 'peersite-later.js', 'peersite-follow.js', 'peersite-keyed.js', 'sw-keyed.js', 'peersite-plain.js', 'sw-plain.js']) {
    if (!existsSync(join(loaderDir, file))) throw new Error(`${join(loaderDir, file)} is missing: run \`npm run build\` first`)
  }
}

export interface LocalSite {
  readonly url: string
  readonly server: StaticServer
  readonly tracker: TrackerServer
  seeder: Seeder | undefined
  readonly manifest: Manifest
  readonly result: PublishResult
  stopSeeder (): Promise<void>
  close (): Promise<void>
}

/** Publishes `dir` like `peersite publish DIR --local` and starts seeding it. */
export async function startLocalSite (dir: string, init: { seed?: boolean, spa?: boolean, withFiles?: boolean, prefetchLimit?: number } = {}): Promise<LocalSite> {
  assertLoaderBuilt()
  const tmp = await makeTempDir('peersite-e2e-')
  const tracker = await startTrackerServer({ host: '127.0.0.1', intervalMs: 5_000 })
  const server = await startStaticServer({ root: join(tmp.path, 'out'), host: '127.0.0.1' })
  const result = await publishSite({ dir, out: join(tmp.path, 'out'), trackers: [tracker.url], loaderDir, spa: init.spa === true, withFiles: init.withFiles === true, ...(init.prefetchLimit !== undefined ? { prefetchLimit: init.prefetchLimit } : {}) })
  const seeder = init.seed === false
    ? undefined
    : await startSeeder({
      metainfo: result.metainfo,
      root: result.plan.site.root,
      // Its own URL path: bittorrent-tracker's client shares one socket per URL in a process (test/helpers/tracker.ts).
      trackers: [trackerUrlFor(tracker, 'seeder')],
      rtcConfig,
      announceIntervalMs: 5_000
    })
  const site: LocalSite = {
    url: server.url,
    server,
    tracker,
    seeder,
    manifest: result.manifest,
    result,
    stopSeeder: async () => {
      const s = site.seeder
      site.seeder = undefined
      await s?.close()
    },
    close: async () => {
      await site.stopSeeder()
      await server.close()
      await tracker.close()
      await tmp.cleanup()
    }
  }
  return site
}

export interface ChromiumAndSite {
  readonly browser: Browser
  readonly site: LocalSite
  /** A fresh profile (an incognito context of the one browser), closed after the file's tests. */
  newContext: (options?: Parameters<Browser['newContext']>[0]) => Promise<BrowserContext>
  /** Closes every context newContext made except `keep` (a visitor that leaves, and its tabs with it). */
  closeContextsBut: (keep: BrowserContext) => Promise<void>
}

/**
 * The set-up most browser test files share, registered as their beforeAll / afterAll: one Chromium and `dir` published
 * like `peersite publish DIR --local` (startLocalSite), started together inside the test's network namespace.
 */
export function useChromiumAndSite (dir: string, init: Parameters<typeof startLocalSite>[1] = {}, args: readonly string[] = CHROMIUM_ARGS): ChromiumAndSite {
  let browser: Browser | undefined
  let site: LocalSite | undefined
  const contexts: BrowserContext[] = []
  beforeAll(async () => {
    assertInNetns()
    ;[browser, site] = await Promise.all([launchChromium(args), startLocalSite(dir, init)])
  })
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {})
    await browser?.close()
    await site?.close()
  })
  return {
    get browser () {
      if (browser === undefined) throw new Error('the browser is not started yet (useChromiumAndSite starts it in beforeAll)')
      return browser
    },
    get site () {
      if (site === undefined) throw new Error('the site is not started yet (useChromiumAndSite starts it in beforeAll)')
      return site
    },
    newContext: async (options = {}) => {
      if (browser === undefined) throw new Error('the browser is not started yet (useChromiumAndSite starts it in beforeAll)')
      const context = await browser.newContext(options)
      contexts.push(context)
      return context
    },
    closeContextsBut: async (keep) => {
      for (const c of contexts.splice(0)) if (c !== keep) await c.close()
      contexts.push(keep)
    }
  }
}

/** The site frame of a loader page, once the shell has created it. */
export async function siteFrame (page: Page, timeout = 30_000): Promise<Frame> {
  const handle = await page.waitForSelector('#peersite-frame', { state: 'attached', timeout }) as ElementHandle<HTMLIFrameElement>
  const frame = await handle.contentFrame()
  if (frame === null) throw new Error('the site frame has no content frame')
  return frame
}

/** Waits until the site frame shows a document whose <h1> reads `h1` (the frame may navigate meanwhile). */
export async function waitForFrameH1 (page: Page, h1: string, timeout = 30_000): Promise<Frame> {
  await page.waitForFunction((text) => {
    const frame = document.getElementById('peersite-frame') as HTMLIFrameElement | null
    return frame?.contentDocument?.querySelector('h1')?.textContent === text
  }, h1, { timeout })
  return await siteFrame(page)
}

/** The loader's debug handle (`window.peersite`, loader/main.ts). */
export async function loaderState (page: Page): Promise<{ leader: boolean, loaded: boolean, done: boolean, peers: number, downloaded: number, uploaded: number } | undefined> {
  return await page.evaluate(() => {
    const p = (window as unknown as { peersite?: { leader: boolean, loaded: boolean, torrent?: { done: boolean }, stats(): { peers: number, downloaded: number, uploaded: number } | undefined } }).peersite
    if (p === undefined) return undefined
    const stats = p.stats()
    return { leader: p.leader, loaded: p.loaded, done: p.torrent?.done === true, peers: stats?.peers ?? 0, downloaded: stats?.downloaded ?? 0, uploaded: stats?.uploaded ?? 0 }
  })
}
