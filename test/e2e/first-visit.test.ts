/**
 * A first visit (issue 10, part 3): publish records what the home page needs (its stylesheet, the font that
 * stylesheet uses, its script), the loader counts all of it as the first page's bytes (its progress card), and the
 * background prefetch starts only after the page has loaded, then fetches the rest of the (small) site.
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e/first-visit.test.ts
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { preloadTable } from '../../loader/preload.js'
import { repoRoot, useChromiumAndSite, waitForFrameH1 } from './harness.js'

const HELLO = join(repoRoot, 'examples', 'hello')
const NEEDS = ['style.css', 'app.js', 'fonts/open-sans-regular.woff2']

describe('a first visit', () => {
  const env = useChromiumAndSite(HELLO)

  it('peersite.json lists what each page needs', () => {
    const table = preloadTable(env.site.manifest)
    const paths = (page: string): string[] | undefined => table.get(page)?.map((i) => env.site.manifest.files[i]!.path)
    expect(paths('index.html')).toEqual(NEEDS)
    expect(paths('docs/guide/index.html')).toEqual(['style.css', 'fonts/open-sans-regular.woff2'])
  })

  it('the first page counts its files, and the background waits until it has loaded', async () => {
    const page = await (await env.newContext()).newPage()
    await page.goto(env.site.url)
    await waitForFrameH1(page, 'Hello from peersite')
    const first = await page.evaluate(() => (window as unknown as { peersite: { firstPage?: unknown } }).peersite.firstPage)
    let length = 0
    for (const path of ['index.html', ...NEEDS]) length += (await stat(join(HELLO, path))).size
    expect(first).toEqual({ path: 'index.html', length, files: ['index.html', ...NEEDS] })
    await page.waitForFunction(() => performance.getEntriesByName('peersite:prefetch').length > 0, undefined, { timeout: 30_000 })
    await page.waitForFunction(() => (window as unknown as { peersite?: { torrent?: { done: boolean } } }).peersite?.torrent?.done === true, undefined, { timeout: 30_000 })
    const order = await page.evaluate(() => {
      const frame = document.getElementById('peersite-frame') as HTMLIFrameElement
      const nav = frame.contentWindow!.performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming
      const loaded = nav.loadEventEnd + frame.contentWindow!.performance.timeOrigin - performance.timeOrigin
      const prefetch = performance.getEntriesByName('peersite:prefetch')[0]?.startTime
      return { loaded, prefetch }
    })
    expect(order.prefetch).toBeDefined()
    expect(order.prefetch!).toBeGreaterThanOrEqual(order.loaded)
  }, 60_000)
})
