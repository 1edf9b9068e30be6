/**
 * Two sites on one origin (/a/ and /b/ on one static host, as `user.github.io/repo/` hosting makes common): site A's
 * script attacks site B in every way a same-origin script can (issue 9), and B's visitor still sees B's real pages
 * or a clear error, never A's bytes:
 *   - a forged engine port posted to B's worker through window.parent (from A's shell: refused);
 *   - the same from a page of B itself (B's shell: accepted, but its pieces fail the worker's check, and the real
 *     leader takes over);
 *   - B's Cache Storage overwritten (its pieces, its cached loader page, script, manifest and torrent);
 *   - B's pieces rewritten in IndexedDB, by A and by a page of B itself (dropped and fetched again).
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e/same-origin.test.ts
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { extname, join, normalize } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core'
import { publishSite, type PublishResult } from '../../cli/lib/publish.js'
import { startSeeder, type Seeder } from '../../cli/lib/swarm.js'
import { startTrackerServer, trackerUrlFor, type TrackerServer } from '../helpers/tracker.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { assertInNetns, rtcConfig } from '../helpers/webrtc.js'
import { assertLoaderBuilt, launchChromium, loaderDir, loaderState, siteFrame } from './harness.js'

const PIECE = 16 * 1024
/** Each case waits for engines to boot and pieces to be fetched again, on 2 shared cores: a generous bound. */
const CASE_TIMEOUT_MS = 150_000
const EVIL = 'A owns you'
const PAGES = ['two', 'three', 'four', 'five', 'six', 'seven']

/** A page of about 40 KB (several pieces of its own), its text unique to the page. */
function page (title: string, links = ''): string {
  const filler = Array.from({ length: 700 }, (_, i) => `<p>${title} line ${i}</p>`).join('\n')
  return `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1>${links}\n${filler}\n`
}

/**
 * The static host of both sites: each folder's files, its 404.html for unknown paths below it, and a worker script
 * only for /a/sw.js and /b/sw.js (like the `--local` server, per folder).
 */
async function startHost (root: string): Promise<{ url: string, close: () => Promise<void> }> {
  const types: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.json': 'application/json', '.torrent': 'application/x-bittorrent' }
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))
      const site = /^\/([ab])\//.exec(path)?.[1]
      const worker = String(req.headers['service-worker'] ?? '') === 'script'
      if (site === undefined || path.includes('..') || (worker && path !== `/${site}/sw.js`)) {
        res.writeHead(403).end()
        return
      }
      const file = join(root, path.endsWith('/') ? `${path}index.html` : path)
      try {
        const body = await readFile(file)
        res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' })
        res.end(body)
      } catch {
        res.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' })
        res.end(await readFile(join(root, site, '404.html')))
      }
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections() })
  }
}

/**
 * Site A's attack, run in the realm of `window.parent` of the page that calls it (a function made by the parent's
 * Function constructor), so the message comes from the top-level shell, not from the nested site page: a forged
 * engine that answers every read with A's bytes. Counts on the parent window what the worker asked of it.
 */
const FORGE = `
  const w = window
  w.__forged = { reads: 0, pulls: 0, bad: 0, posted: false }
  const reg = await navigator.serviceWorker.getRegistration(scope)
  const channel = new MessageChannel()
  const next = new Map()
  channel.port1.onmessage = (e) => {
    const m = e.data
    if (m.type === 'read') { w.__forged.reads++; next.set(m.id, m.first) }
    if (m.type === 'bad-piece') w.__forged.bad++
    if (m.type === 'pull') {
      w.__forged.pulls++
      const index = next.get(m.id) ?? 0
      next.set(m.id, index + 1)
      const bytes = new TextEncoder().encode(('<h1>${EVIL}</h1>').padEnd(pieceLength, ' ')).buffer
      channel.port1.postMessage({ type: 'piece', id: m.id, index, bytes }, [bytes])
    }
  }
  reg.active.postMessage({ type: 'leader', infoHash, port: channel.port2 }, [channel.port2])
  w.__forged.posted = true
`

/** Overwrites every entry of every cache whose name mentions `scope` with A's bytes; returns the keys overwritten. */
async function overwriteCaches (frame: Frame, scope: string): Promise<string[]> {
  return await frame.evaluate(async ([scope, evil]) => {
    const done: string[] = []
    for (const name of await caches.keys()) {
      if (!name.includes(scope)) continue
      const cache = await caches.open(name)
      for (const request of await cache.keys()) {
        const old = await cache.match(request)
        const size = (await old?.arrayBuffer())?.byteLength ?? 100
        await cache.put(request, new Response(`<h1>${evil}</h1>`.padEnd(size, ' '), { headers: old?.headers }))
        done.push(request.url)
      }
    }
    return done
  }, [scope, EVIL] as const)
}

/**
 * Rewrites every stored piece of `infoHash` in the origin's IndexedDB with A's bytes; returns how many pieces (a record
 * is one piece, [infoHash, index], or a run of several, [infoHash, first + 0.5, count, pieceLength]: engine/storage/idb.ts).
 */
async function rewritePieces (frame: Frame, infoHash: string): Promise<number> {
  return await frame.evaluate(async ([infoHash, evil]) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('peersite')
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    const count = await new Promise<number>((resolve, reject) => {
      let n = 0
      const tx = db.transaction('pieces', 'readwrite')
      const req = tx.objectStore('pieces').openCursor(IDBKeyRange.bound([infoHash, 0], [infoHash, '']))
      req.onsuccess = () => {
        const cursor = req.result
        if (cursor === null) return
        // A run's record holds a Blob (engine/storage/idb.ts), a piece's own record bytes: rewritten as they were.
        const value = cursor.value as Uint8Array | Blob
        const bytes = new TextEncoder().encode(`<h1>${evil}</h1>`.padEnd(value instanceof Blob ? value.size : value.length, ' '))
        void cursor.update(value instanceof Blob ? new Blob([bytes]) : bytes)
        const key = cursor.key as unknown[]
        n += key.length === 4 ? key[2] as number : 1
        cursor.continue()
      }
      tx.oncomplete = () => resolve(n)
      tx.onerror = () => reject(tx.error)
    })
    db.close()
    return count
  }, [infoHash, EVIL] as const)
}

/** The first bytes of a stored piece, as IndexedDB holds them now (in its own record or in a run). */
async function storedPiece (frame: Frame, infoHash: string, index: number): Promise<string> {
  return await frame.evaluate(async ([infoHash, index]) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('peersite')
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    const value = await new Promise<Uint8Array | Blob | undefined>((resolve) => {
      const store = db.transaction('pieces').objectStore('pieces')
      const req = store.openCursor(IDBKeyRange.bound([infoHash, 0], [infoHash, index + 0.5, Infinity]), 'prev')
      req.onsuccess = () => {
        const cursor = req.result
        if (cursor === null) { resolve(undefined); return }
        const key = cursor.key as number[]
        const value = cursor.value as Uint8Array | Blob
        if (key.length === 2 && key[1] === index) { resolve(value); return }
        if (key.length === 4 && index < key[1]! - 0.5 + key[2]!) {
          const at = (index - (key[1]! - 0.5)) * key[3]!
          resolve(value instanceof Blob ? value.slice(at, at + key[3]!) : value.subarray(at, at + key[3]!))
          return
        }
        cursor.continue()
      }
    })
    db.close()
    const head = value instanceof Blob ? new Uint8Array(await value.slice(0, 40).arrayBuffer()) : value?.subarray(0, 40)
    return head instanceof Uint8Array ? new TextDecoder().decode(head) : ''
  }, [infoHash, index] as const)
}

describe('two sites on one origin: site A cannot make B\'s visitors see its bytes', () => {
  let tmp: TempDir
  let tracker: TrackerServer
  let host: { url: string, close: () => Promise<void> }
  let browser: Browser
  let context: BrowserContext
  const seeders: Seeder[] = []
  let b: PublishResult
  let bUrl: string
  let aUrl: string
  const logs = new Map<Page, string[]>()
  /** Every page a case opens: one a failed case leaves open (a leader of B holding its lock) must not skew the next. */
  const pages: Page[] = []
  const newPage = async (): Promise<Page> => {
    const p = await context.newPage()
    pages.push(p)
    return p
  }

  /** The frame of a visitor of B, once it shows `h1`; fails if A's bytes show in the page or its frame. */
  const expectB = async (p: Page, h1: string): Promise<Frame> => {
    const frame = await expectH1(p, h1)
    const text = await frame.evaluate(() => document.documentElement.outerHTML)
    expect(text).not.toContain(EVIL)
    expect(await p.evaluate(() => document.documentElement.outerHTML)).not.toContain(EVIL)
    return frame
  }

  /** The site frame once it shows `h1`; on a timeout, says what it shows instead and the page's last console lines. */
  const expectH1 = async (p: Page, h1: string): Promise<Frame> => {
    // Polled on a timer: requestAnimationFrame (the default) was seen not to fire after a reload in this set-up.
    const frame = await p.waitForFunction((text) => {
      const f = document.getElementById('peersite-frame') as HTMLIFrameElement | null
      return f?.contentDocument?.querySelector('h1')?.textContent === text
    }, h1, { timeout: 60_000, polling: 200 }).then(async () => await siteFrame(p)).catch(async (err: unknown) => {
      const shown = await p.evaluate(() => (document.getElementById('peersite-frame') as HTMLIFrameElement | null)?.contentDocument?.body?.innerText?.slice(0, 300) ?? document.body.innerText.slice(0, 300)).catch(() => '?')
      const state = await loaderState(p).catch(() => undefined)
      throw new Error(`${String(err)}\nshown instead: ${shown}\nengine: ${JSON.stringify(state)}\nconsole: ${(logs.get(p) ?? []).slice(-15).join('\n')}`)
    })
    return frame
  }

  const openB = async (path = ''): Promise<Page> => {
    const p = await newPage()
    const log: string[] = []
    logs.set(p, log)
    p.on('console', (m) => log.push(m.text()))
    // Not until `load`: the shell's load waits for its frame, which waits for the engine (a while, under attack).
    await p.goto(bUrl + path, { waitUntil: 'commit' })
    return p
  }

  const navigateFrame = async (p: Page, path: string): Promise<void> => {
    const frame = await siteFrame(p)
    await frame.evaluate((href) => { location.href = href }, bUrl + path)
  }

  beforeAll(async () => {
    assertInNetns()
    assertLoaderBuilt()
    tmp = await makeTempDir('peersite-same-origin-')
    tracker = await startTrackerServer({ host: '127.0.0.1', intervalMs: 5_000 })
    const src = { a: join(tmp.path, 'src-a'), b: join(tmp.path, 'src-b') }
    await mkdir(src.a, { recursive: true })
    await mkdir(src.b, { recursive: true })
    await writeFile(join(src.a, 'index.html'), page('A home'))
    const links = PAGES.map((p) => `<a href="page-${p}.html">${p}</a>`).join(' ')
    await writeFile(join(src.b, 'index.html'), page('B home', links))
    for (const p of PAGES) await writeFile(join(src.b, `page-${p}.html`), page(`B page ${p}`))
    const out = join(tmp.path, 'host')
    const a = await publishSite({ dir: src.a, out: join(out, 'a'), trackers: [tracker.url], loaderDir, pieceLength: PIECE })
    b = await publishSite({ dir: src.b, out: join(out, 'b'), trackers: [tracker.url], loaderDir, pieceLength: PIECE })
    for (const [name, site] of [['a', a], ['b', b]] as const) {
      seeders.push(await startSeeder({ metainfo: site.metainfo, root: site.plan.site.root, trackers: [trackerUrlFor(tracker, `seeder-${name}`)], rtcConfig, announceIntervalMs: 5_000 }))
    }
    host = await startHost(out)
    aUrl = `${host.url}a/`
    bUrl = `${host.url}b/`
    browser = await launchChromium()
    context = await browser.newContext()
  })

  afterEach(async () => {
    for (const p of pages.splice(0)) await p.close().catch(() => {})
  })

  afterAll(async () => {
    await context?.close().catch(() => {})
    await browser?.close().catch(() => {})
    for (const s of seeders) await s.close().catch(() => {})
    await host?.close()
    await tracker?.close()
    await tmp?.cleanup()
  })

  it('a forged engine port that site A posts through window.parent is refused; B\'s visitor sees B', async () => {
    const visitor = await openB()
    await expectB(visitor, 'B home')
    const attacker = await newPage()
    await attacker.goto(aUrl, { waitUntil: 'commit' })
    const aFrame = await expectH1(attacker, 'A home')
    await aFrame.evaluate(async ([src, infoHash, pieceLength, scope]) => {
      const parent = window.parent as unknown as { Function: FunctionConstructor, __forged?: { posted: boolean } }
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      await new parent.Function('infoHash', 'pieceLength', 'scope', `return (async () => {${src}})()`)(infoHash, pieceLength, scope)
      if (parent.__forged?.posted !== true) throw new Error('the attack did not run')
    }, [FORGE, b.infoHash, PIECE, bUrl] as const)
    await navigateFrame(visitor, 'page-two.html')
    await expectB(visitor, 'B page two')
    // The worker never even asked the forged engine.
    expect(await attacker.evaluate(() => (window as unknown as { __forged: { reads: number } }).__forged.reads)).toBe(0)
    await attacker.close()
    await visitor.close()
  }, CASE_TIMEOUT_MS)

  it('a forged port from a page of B itself is used, but its pieces fail the check and the real leader takes over', async () => {
    const visitor = await openB('page-two.html')
    const frame = await expectB(visitor, 'B page two')
    // A return visit's page may show from the worker's copies before its engine starts; the forged port must come
    // after the real leader's, or the real one replaces it (seen in a loaded run: the forged port never asked).
    await visitor.waitForFunction(() => {
      const state = (window as unknown as { peersite?: { leader: boolean, introductions: number } }).peersite
      return state?.leader === true && state.introductions > 0
    }, null, { timeout: 60_000, polling: 100 })
    await frame.evaluate(async ([src, infoHash, pieceLength, scope]) => {
      const parent = window.parent as unknown as { Function: FunctionConstructor }
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      await new parent.Function('infoHash', 'pieceLength', 'scope', `return (async () => {${src}})()`)(infoHash, pieceLength, scope)
    }, [FORGE, b.infoHash, PIECE, bUrl] as const)
    await navigateFrame(visitor, 'page-three.html')
    await expectB(visitor, 'B page three')
    // B's shell may hand over a port, so the worker asked it, found its pieces bad, told it, and dropped it. The
    // `bad-piece` message reaches the forged port on its own channel, not necessarily before the page shows: waited for.
    await visitor.waitForFunction(() => ((window as unknown as { __forged?: { bad: number } }).__forged?.bad ?? 0) > 0, null, { timeout: 10_000, polling: 100 }).catch(() => {})
    const forged = await visitor.evaluate(() => (window as unknown as { __forged: { reads: number, bad: number } }).__forged)
    expect(forged.reads).toBeGreaterThan(0)
    expect(forged.bad).toBeGreaterThan(0)
    await visitor.close()
  }, CASE_TIMEOUT_MS)

  it('site A overwrites B\'s Cache Storage (pieces and the cached loader); once A is closed, B\'s visitor sees B', async () => {
    const visitor = await openB('page-four.html')
    await expectB(visitor, 'B page four')
    await visitor.close()
    const attacker = await newPage()
    await attacker.goto(aUrl, { waitUntil: 'commit' })
    const overwritten = await overwriteCaches(await expectH1(attacker, 'A home'), '/b/')
    // B's loader page, script, manifest and torrent, and the pieces of the pages it showed
    for (const name of ['index.html', 'peersite.js', 'peersite.json', 'site.torrent']) expect(overwritten).toContain(bUrl + name)
    // (a file read whole is one entry, /run/FIRST-LAST; pieces of partial reads are /piece/N)
    expect(overwritten.filter((u) => /\/(piece|run)\//.test(u)).length).toBeGreaterThan(0)
    await attacker.close()
    const again = await openB('page-four.html')
    await expectB(again, 'B page four')
    // The shell is the real loader (A's "shell" would have no engine).
    await again.waitForFunction(() => (window as unknown as { peersite?: unknown }).peersite !== undefined)
    await again.close()
  }, CASE_TIMEOUT_MS)

  it('site A rewrites B\'s pieces in IndexedDB; B\'s visitor gets its real pages, the bad pieces fetched again', async () => {
    const visitor = await openB()
    await expectB(visitor, 'B home')
    await visitor.waitForFunction(() => (window as unknown as { peersite?: { torrent?: { done: boolean } } }).peersite?.torrent?.done === true, null, { timeout: 60_000, polling: 250 })
    await visitor.close()
    const attacker = await newPage()
    await attacker.goto(aUrl, { waitUntil: 'commit' })
    const aFrame = await expectH1(attacker, 'A home')
    expect(await rewritePieces(aFrame, b.infoHash)).toBe(b.metainfo.pieceCount)
    // The worker's piece cache gone too, so the pages must come from the (rewritten) store.
    await aFrame.evaluate(async () => { for (const n of await caches.keys()) if (n.includes('/b/') && n.startsWith('peersite-files:')) await caches.delete(n) })
    await attacker.close()
    const again = await openB('page-five.html')
    const frame = await expectB(again, 'B page five')
    // The piece under page five's first byte was dropped from the store and stored again, verified.
    const file = b.metainfo.files.find((f) => f.path === 'page-five.html')!
    const index = Math.floor(file.offset / PIECE)
    await expect.poll(async () => await storedPiece(frame, b.infoHash, index), { timeout: 10_000 }).not.toContain(EVIL)
    expect((await loaderState(again))?.leader).toBe(true)
    await again.close()
  }, CASE_TIMEOUT_MS)

  it('a page of B rewriting its own store: after a reload the visitor still sees B\'s real pages', async () => {
    const visitor = await openB('page-six.html')
    const frame = await expectB(visitor, 'B page six')
    await visitor.waitForFunction(() => (window as unknown as { peersite?: { torrent?: { done: boolean } } }).peersite?.torrent?.done === true, null, { timeout: 60_000, polling: 250 })
    expect(await rewritePieces(frame, b.infoHash)).toBeGreaterThan(0)
    await frame.evaluate(async () => { for (const n of await caches.keys()) if (n.startsWith('peersite-files:')) await caches.delete(n) })
    await visitor.reload()
    await expectB(visitor, 'B page six')
    await navigateFrame(visitor, 'page-seven.html')
    await expectB(visitor, 'B page seven')
    await visitor.close()
  }, CASE_TIMEOUT_MS)
})
