/**
 * Large files through the browser's download manager: a site with a 48 MB file (deterministic pseudo-random
 * bytes generated at test time) and a page linking to it, published like `peersite publish DIR --local` and
 * seeded from Node. The visitor clicks the link; Chromium's download manager saves what the service worker
 * streams from the engine, and the saved file is byte-identical to the original. The static host serves none of
 * the site's files.
 *
 * Chromium sends a `download`-attribute link's request past the service worker, straight to the host (which has
 * only the loader): the shell turns such clicks into a hidden frame's navigation that the worker answers with
 * Content-Disposition: attachment (loader/shell.ts, worker/protocol.ts DOWNLOAD_PARAM). A plain link to an
 * application/octet-stream file is a navigation of the site frame, which the worker sees anyway, and the browser
 * downloads what it cannot show.
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e/download.test.ts
 */
import { createCipheriv, createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Download, Frame, Page, Response } from 'playwright-core'
import { assertInNetns } from '../helpers/webrtc.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { launchChromium, loaderState, startLocalSite, waitForFrameH1, type LocalSite } from './harness.js'

const BIG_BYTES = 48 * 1024 * 1024 + 12_345 // not a whole number of pieces: the last piece is short
const H1 = 'Downloads'

/** `bytes` pseudo-random bytes, the same every run: AES-128-CTR of zeros under a fixed key. */
async function writeDeterministic (path: string, bytes: number): Promise<void> {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0))
  await writeFile(path, cipher.update(Buffer.alloc(bytes)))
}

async function sha1File (path: string): Promise<string> {
  const hash = createHash('sha1')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

describe('a large file downloads through the browser\'s download manager', () => {
  let browser: Browser
  let site: LocalSite
  let dir: TempDir
  let context: BrowserContext
  let page: Page
  let frame: Frame
  let expected: string
  /** The responses to requests for files/big.bin that the page saw (a download's too, as the frame's navigation). */
  const responses: Response[] = []

  beforeAll(async () => {
    assertInNetns()
    dir = await makeTempDir('peersite-download-site-')
    await mkdir(join(dir.path, 'files'))
    await writeDeterministic(join(dir.path, 'files', 'big.bin'), BIG_BYTES)
    await writeFile(join(dir.path, 'index.html'), '<!doctype html>\n<html lang="en">\n<meta charset="utf-8">\n<title>Downloads</title>\n' +
      `<h1>${H1}</h1>\n<p><a id="attr" href="files/big.bin" download>big.bin</a> (download attribute)</p>\n` +
      '<p><a id="named" href="files/big.bin" download="renamed.dat">big.bin as renamed.dat</a></p>\n' +
      '<p><a id="plain" href="files/big.bin">big.bin</a> (a plain link: application/octet-stream)</p>\n</html>\n')
    expected = await sha1File(join(dir.path, 'files', 'big.bin'))
    ;[browser, site] = await Promise.all([launchChromium(), startLocalSite(dir.path)])
    context = await browser.newContext({ acceptDownloads: true })
    page = await context.newPage()
    page.on('response', (r) => { if (new URL(r.url()).pathname === '/files/big.bin') responses.push(r) })
    await page.goto(site.url)
    frame = await waitForFrameH1(page, H1, 60_000)
  })

  afterAll(async () => {
    await context?.close().catch(() => {})
    await browser?.close()
    await site?.close()
    await dir?.cleanup()
  })

  /** Clicks `selector` in the site frame: the download's saved file and the response it came from. */
  const download = async (selector: string): Promise<{ d: Download, path: string, response: Response | undefined }> => {
    const seen = responses.length
    const [d] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), frame.click(selector)])
    const path = await d.path() // resolves when the download has finished
    expect(await d.failure()).toBeNull()
    return { d, path, response: responses[seen] }
  }

  it('a link with the download attribute saves the file, byte-identical, streamed by the worker', async () => {
    const { d, path, response } = await download('#attr')
    expect(await sha1File(path)).toBe(expected)
    expect(d.suggestedFilename()).toBe('big.bin')
    expect(response?.fromServiceWorker()).toBe(true)
    expect(response?.status()).toBe(200)
    const headers = await response!.allHeaders()
    expect(headers['content-length']).toBe(String(BIG_BYTES))
    expect(headers['content-type']).toBe('application/octet-stream')
    expect(headers['content-disposition']).toBe('attachment; filename="big.bin"; filename*=UTF-8\'\'big.bin')
  })

  it('download="name" names the saved file', async () => {
    const { d, path, response } = await download('#named')
    expect(await sha1File(path)).toBe(expected)
    expect(d.suggestedFilename()).toBe('renamed.dat')
    expect(response?.fromServiceWorker()).toBe(true)
  })

  it('a plain link to an application/octet-stream file is downloaded too, and the site page stays', async () => {
    const historyLength = await page.evaluate(() => history.length)
    const { d, path, response } = await download('#plain')
    expect(await sha1File(path)).toBe(expected)
    expect(d.suggestedFilename()).toBe('big.bin')
    expect(response?.fromServiceWorker()).toBe(true)
    expect((await response!.allHeaders())['content-disposition']).toBeUndefined()
    await waitForFrameH1(page, H1)
    expect(await frame.evaluate(() => location.pathname)).toBe('/')
    // As on a plain host, a link that downloads neither changes the address nor adds a history entry.
    expect(await page.evaluate(() => [location.href, history.length])).toEqual([site.url, historyLength])
  })

  it('a download link still saves the file when peersite-later.js cannot be loaded', async () => {
    // The click is taken by the shell at once, and the download's frame is peersite-later.js's code: without it, the
    // top page asks the worker for the file, whose attachment answer saves it.
    const other = await browser.newContext({ acceptDownloads: true })
    try {
      let refused = 0
      await other.route(/\/peersite-later\.js(\?|$)/, async (route) => { refused++; await route.abort() })
      const visitor = await other.newPage()
      await visitor.goto(site.url)
      const siteFrame = await waitForFrameH1(visitor, H1, 60_000)
      const [d] = await Promise.all([visitor.waitForEvent('download', { timeout: 120_000 }), siteFrame.click('#attr')])
      expect(await d.failure()).toBeNull()
      expect(await sha1File(await d.path())).toBe(expected)
      expect(d.suggestedFilename()).toBe('big.bin')
      expect(refused).toBeGreaterThan(0)
    } finally {
      await other.close().catch(() => {})
    }
  })

  it('a file larger than what the visit may store still downloads whole; the store keeps only its budget', async () => {
    // A fresh visitor (its own IndexedDB) whose visit may store 8 MiB (loader/engine-host.ts storeBudget).
    const budget = 8 * 1024 * 1024
    const other = await browser.newContext({ acceptDownloads: true })
    try {
      await other.addInitScript((bytes) => { (globalThis as { PEERSITE_STORE_BUDGET?: number }).PEERSITE_STORE_BUDGET = bytes }, budget)
      const visitor = await other.newPage()
      await visitor.goto(site.url)
      const siteFrame = await waitForFrameH1(visitor, H1, 60_000)
      const [d] = await Promise.all([visitor.waitForEvent('download', { timeout: 120_000 }), siteFrame.click('#attr')])
      expect(await sha1File(await d.path())).toBe(expected)
      const held = await visitor.evaluate(() => {
        const t = (window as unknown as { peersite: { torrent: { have: { count: number }, metainfo: { pieceLength: number } } } }).peersite.torrent
        return { pieces: t.have.count, pieceLength: t.metainfo.pieceLength }
      })
      expect(held.pieces).toBeGreaterThan(0)
      expect(held.pieces * held.pieceLength).toBeLessThanOrEqual(budget)
    } finally {
      await other.close()
    }
  })

  it('every byte came from the swarm: the static host served no site file', async () => {
    const state = await loaderState(page)
    expect(state?.leader).toBe(true)
    expect(state?.downloaded).toBeGreaterThanOrEqual(BIG_BYTES)
    // Only the loader's own files and the shell's navigations reached the host (as in loader.test.ts).
    for (const path of site.server.requests) {
      expect(path === '/' || /^\/(peersite\.json|peersite\.js|peersite-later\.js|sw\.js|site\.torrent)$/.test(path), path).toBe(true)
    }
  })
})
