/**
 * The second tier of a page's needs (peersite.json `preload.likely`, issue 10 part 3): a file the page's script names
 * and loads only on demand is fetched from peers right after the page's own needs, before the page asks for it, and
 * is then served, verified, like any other; a file nothing names is not fetched. With `--prefetch-limit 0` nothing
 * else would fetch either before the page asks.
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e/likely.test.ts
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { preloadTable } from '../../loader/preload.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { assertInNetns } from '../helpers/webrtc.js'
import { launchChromium, startLocalSite, waitForFrameH1, type LocalSite } from './harness.js'

/** ~100 KB of JSON: several pieces of its own. */
const json = (label: string): string => JSON.stringify({ label, rows: Array.from({ length: 2500 }, (_, i) => `${label} row ${i}`) })

describe('a page\'s on-demand files', () => {
  let browser: Browser
  let site: LocalSite
  let tmp: TempDir

  beforeAll(async () => {
    assertInNetns()
    tmp = await makeTempDir('peersite-likely-')
    const dir = join(tmp.path, 'site')
    await mkdir(join(dir, 'data'), { recursive: true })
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>Likely</title><h1>Likely</h1><button id="go">load</button><pre id="out"></pre><script src="app.js"></script>')
    // The path is in a string literal, loaded only on a click: the browser cannot know it in advance.
    await writeFile(join(dir, 'app.js'), `document.getElementById('go').onclick = async () => {
  const data = await (await fetch('data/on-demand.json')).json()
  document.getElementById('out').textContent = data.label + ' ' + data.rows.length
}`)
    await writeFile(join(dir, 'data', 'on-demand.json'), json('on-demand'))
    await writeFile(join(dir, 'data', 'unnamed.json'), json('unnamed'))
    ;[browser, site] = await Promise.all([launchChromium(), startLocalSite(dir, { prefetchLimit: 0 })])
  })

  afterAll(async () => {
    await browser?.close()
    await site?.close()
    await tmp?.cleanup()
  })

  it('are fetched before the page asks, served verified, and nothing unnamed is', async () => {
    const { files } = site.manifest
    const likely = preloadTable(site.manifest, 'likely').get('index.html')?.map((i) => files[i]!.path)
    expect(likely).toEqual(['data/on-demand.json'])
    const page = await (await browser.newContext()).newPage()
    await page.goto(site.url)
    await waitForFrameH1(page, 'Likely')
    type Holder = { peersite?: { torrent?: { holds: (i: number) => boolean, metainfo?: { pieceLength: number, files: Array<{ path: string, offset: number, length: number }> } } } }
    // Pieces of each file (and those wholly inside it), from the engine's metainfo (pad files included).
    const ranges = await page.waitForFunction(() => {
      const m = (window as unknown as Holder).peersite?.torrent?.metainfo
      if (m === undefined) return false
      return Object.fromEntries(m.files.map((f) => {
        const first = Math.floor(f.offset / m.pieceLength)
        const last = Math.floor((f.offset + f.length - 1) / m.pieceLength)
        const inner: number[] = []
        for (let p = first; p <= last; p++) if (p * m.pieceLength >= f.offset && (p + 1) * m.pieceLength <= f.offset + f.length) inner.push(p)
        return [f.path, { first, last, inner }]
      }))
    }, undefined, { timeout: 30_000 }).then(async (h) => await h.jsonValue() as Record<string, { first: number, last: number, inner: number[] }>)
    const wanted = ranges['data/on-demand.json']!
    const unnamed = ranges['data/unnamed.json']!
    expect(unnamed.inner.length).toBeGreaterThan(0)
    await page.waitForFunction(({ first, last }) => {
      const t = (window as unknown as Holder).peersite?.torrent
      if (t === undefined) return false
      for (let i = first; i <= last; i++) if (!t.holds(i)) return false
      return true
    }, wanted, { timeout: 30_000, polling: 50 })
    const asked = await page.evaluate(() => {
      const frame = document.getElementById('peersite-frame') as HTMLIFrameElement
      return frame.contentWindow!.performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('on-demand'))
    })
    expect(asked).toEqual([])
    const held = await page.evaluate((inner) => inner.filter((i) => (window as unknown as Holder).peersite!.torrent!.holds(i)), unnamed.inner)
    expect(held).toEqual([])

    // The page asks now: the worker serves the bytes, checked against the torrent's hashes as always.
    const frame = page.frameLocator('#peersite-frame')
    await frame.locator('#go').click()
    await frame.locator('#out').filter({ hasText: 'on-demand 2500' }).waitFor({ timeout: 30_000 })
    const served = await page.evaluate(async () => {
      const frame = document.getElementById('peersite-frame') as HTMLIFrameElement
      return await (await frame.contentWindow!.fetch('data/on-demand.json')).text()
    })
    expect(served).toBe(await readFile(join(tmp.path, 'site', 'data', 'on-demand.json'), 'utf8'))
  }, 60_000)
})
