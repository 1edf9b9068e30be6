/**
 * A site nobody seeds: the loader shows its progress card while it looks for peers, then (after its deadline,
 * shortened here from 20 s) a clear page saying nobody shares the site right now, with the infohash and magnet
 * link for WebTorrent users. Never a blank page.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot, useChromiumAndSite } from './harness.js'

describe('nobody shares the site', () => {
  const env = useChromiumAndSite(join(repoRoot, 'examples', 'hello'), { seed: false })

  it('shows progress, then says nobody is sharing the site and what to do', async () => {
    const context = await env.newContext()
    await context.addInitScript(() => { (globalThis as { PEERSITE_DEADLINE_MS?: number }).PEERSITE_DEADLINE_MS = 2500 })
    // Every text the card shows, in order: the progress text lasts only until the deadline, and on a loaded machine a
    // read after the card appeared could already find the problem page (or miss a text that came and went).
    await context.addInitScript(() => {
      const shown: string[] = []
      ;(globalThis as { peersiteCardTexts?: string[] }).peersiteCardTexts = shown
      new MutationObserver(() => {
        const card = document.getElementById('peersite-card')
        const text = card?.textContent ?? ''
        // The progress card floats over the frame (the shell page's style sheet styles it by its id).
        if (text !== '' && shown[shown.length - 1] !== text) shown.push(card!.classList.contains('full') ? text : `${getComputedStyle(card!).position}: ${text}`)
      }).observe(document, { subtree: true, childList: true, characterData: true })
    })
    const page = await context.newPage()
    await page.goto(env.site.url)
    const full = await page.waitForSelector('#peersite-card.full', { timeout: 30_000 })
    const shown = await page.evaluate(() => (globalThis as { peersiteCardTexts?: string[] }).peersiteCardTexts ?? [])
    const searching = shown.findIndex((t) => /^fixed: .*Looking for visitors who share this site/.test(t))
    expect(searching, JSON.stringify(shown)).toBeGreaterThanOrEqual(0)
    expect(shown.findIndex((t) => /Nobody is sharing this site right now/.test(t)), JSON.stringify(shown)).toBeGreaterThan(searching)
    const text = await full.textContent() ?? ''
    expect(text).toMatch(/Nobody is sharing this site right now/)
    expect(text).toMatch(/Try again later/)
    expect(text).toContain(env.site.manifest.infoHash)
    // The magnet link publish prints, made by the page from peersite.json's infohash, name and (WebSocket) trackers.
    const { infoHash, name, trackers } = env.site.manifest
    expect(await page.getAttribute('#peersite-card a[href^="magnet:"]', 'href'))
      .toBe(`magnet:?xt=urn:btih:${infoHash}&dn=${encodeURIComponent(name)}${trackers.map((t) => `&tr=${encodeURIComponent(t)}`).join('')}`)
    expect(await page.title()).toBe('Nobody is sharing this site right now')
    await context.close()
  })
})
