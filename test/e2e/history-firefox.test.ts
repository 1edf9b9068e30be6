/**
 * History as on a plain host, in Firefox: the history scenarios of url-rules.test.ts (./history-compare.ts: the same
 * fixtures, the same steps, compared with the same folder on a plain static host in the same run) in Debian's
 * Firefox ESR, headless, driven by puppeteer-core over WebDriver BiDi (as firefox.test.ts). Back and Forward after
 * reloads and deep links, hash routes and a pushState app, with the address, title, heading and scroll position at
 * each step.
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e/history-firefox.test.ts
 */
import { afterAll, beforeAll, describe, it } from 'vitest'
import type { Browser, BrowserContext } from 'puppeteer-core'
import { assertInNetns } from '../helpers/webrtc.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { launchFirefox } from './harness.js'
import { compareHistory, HISTORY_SCENARIOS, puppeteerTab, startHistorySites, type HistorySites, type Tab } from './history-compare.js'

describe('history in Firefox, peersite against a plain static host', () => {
  let browser: Browser
  let sites: HistorySites
  let profile: TempDir
  const contexts: BrowserContext[] = []
  /** A fresh user context (its own storage and service worker, like another profile) and a tab in it. */
  const fresh = async (): Promise<Tab> => {
    const context = await browser.createBrowserContext()
    contexts.push(context)
    return puppeteerTab(await context.newPage())
  }

  beforeAll(async () => {
    assertInNetns()
    profile = await makeTempDir('peersite-firefox-history-')
    ;[browser, sites] = await Promise.all([launchFirefox(profile.path), startHistorySites()])
  })

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {})
    await browser?.close().catch(() => {})
    await sites?.close()
    await profile?.cleanup()
  })

  for (const scenario of HISTORY_SCENARIOS) {
    it(scenario.name, async () => {
      await compareHistory(fresh, sites, scenario)
    }, 180_000)
  }
})
