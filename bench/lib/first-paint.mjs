/**
 * What the first-paint benchmarks (fcp, gateway, network) share: the Chromium they launch, the site they load
 * (examples/hello) and the wait for the site page's own first paint inside the loader's frame.
 * Kept apart from chromium.mjs so that these benchmarks load no WebRTC module of their own.
 */
import { join } from 'node:path'
import { repoRoot } from './env.mjs'

export const CHROMIUM = process.env.PEERSITE_CHROMIUM ?? '/usr/bin/chromium'
/** Flags every benchmark's Chromium gets; chromium.mjs and some benchmarks add their own. */
export const BASE_CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-features=WebRtcHideLocalIpsWithMdns', '--allow-loopback-in-peer-connection'
]
export const SITE = join(repoRoot, 'examples', 'hello')
export const HOME_H1 = 'Hello from peersite'

/** Waits until the site page in the loader's frame shows HOME_H1 and has painted. */
export async function waitForFramePaint (page) {
  await page.waitForFunction((h1) => {
    const w = document.getElementById('peersite-frame')?.contentWindow
    return w?.document.querySelector('h1')?.textContent === h1 && w.performance.getEntriesByName('first-contentful-paint').length > 0
  }, HOME_H1, { timeout: 60_000 })
}
