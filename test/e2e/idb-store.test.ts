/**
 * engine/storage/idb.ts in real browsers with a profile on disk (Chromium, Firefox ESR): runs of pieces stored as
 * Blobs survive a browser restart, read back whole scattered and in order, a delete inside a run keeps the others,
 * and a crafted record (a Blob of the wrong size) is refused. fake-indexeddb (test/unit) cannot show how a browser
 * keeps a Blob in IndexedDB; this does. No WebRTC: the page loads the store, bundled from source, over loopback HTTP.
 *
 *   npx vitest run test/e2e/idb-store.test.ts
 */
import * as http from 'node:http'
import { resolve } from 'node:path'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { CHROMIUM, CHROMIUM_ARGS, launchFirefox, repoRoot } from './harness.js'

interface Outcome { blobRuns: number, stored: number[], scattered: boolean, inOrder: boolean, range: boolean, deleted: string, others: boolean, crafted: string[], craftedWhole: boolean }

/** Runs in the page: `write` stores 24 pieces (8 at a time: runs) and two crafted records; `read` checks them. */
const inPage = async (phase: 'write' | 'read'): Promise<Outcome | undefined> => {
  const Store = (window as unknown as { IdbStore: new (init: object) => {
    storedPieces: () => Promise<number[]>, put: (i: number, d: Uint8Array) => Promise<void>, get: (i: number, r?: object) => Promise<Uint8Array>
    delete: (i: number) => Promise<void>, close: () => Promise<void>
  } }).IdbStore
  const PL = 65536
  const N = 24
  const name = 'peersite-e2e'
  const piece = (i: number): Uint8Array => {
    const b = new Uint8Array(i === N - 1 ? 1000 : PL)
    for (let k = 0; k < b.length; k++) b[k] = (i * 131 + k * 7 + (k >> 8)) & 255
    return b
  }
  const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, k) => v === b[k])
  const open = (infoHash: string, length: number): InstanceType<typeof Store> => new Store({ infoHash, pieceLength: PL, length, name })
  const store = open('a'.repeat(40), (N - 1) * PL + 1000)
  const crafted = open('c'.repeat(40), 4 * PL)
  const raw = async (body: (s: IDBObjectStore) => IDBRequest): Promise<unknown> => await new Promise((resolve, reject) => {
    const req = indexedDB.open(name)
    req.onsuccess = () => {
      const tx = req.result.transaction('pieces', 'readwrite')
      const r = body(tx.objectStore('pieces'))
      tx.oncomplete = () => { req.result.close(); resolve(r.result) }
      tx.onabort = () => { reject(tx.error) }
    }
  })
  if (phase === 'write') {
    await store.storedPieces()
    await crafted.storedPieces()
    for (let i = 0; i < N; i += 8) await Promise.all(Array.from({ length: 8 }, async (_, j) => await store.put(i + j, piece(i + j))))
    const two = new Uint8Array(2 * PL)
    two.set(piece(0)); two.set(piece(1), PL)
    await raw((s) => s.put(new Blob([two, new Uint8Array(1)]), ['c'.repeat(40), 0.5, 2, PL])) // one byte too long
    await raw((s) => s.put(new Blob([two.subarray(0, 2 * PL - 1)]), ['c'.repeat(40), 2.5, 2, PL])) // one byte short
    await store.close()
    await crafted.close()
    return undefined
  }
  const code = async (p: Promise<unknown>): Promise<string> => await p.then(() => 'read', (e: { code?: string }) => e.code ?? String(e))
  const keys = await raw((s) => s.getAllKeys()) as unknown[][]
  let blobRuns = 0
  for (const key of keys.filter((k) => k[0] === 'a'.repeat(40) && k.length === 4)) {
    if (await raw((s) => s.get(key as IDBValidKey)) instanceof Blob) blobRuns++
  }
  const stored = await store.storedPieces()
  const order = [13, 2, 22, 7, 0, 17, 9, 23, 4, 15, 11, 1, 20, 6, 18, 3, 12, 21, 8, 14, 5, 19, 10, 16]
  let scattered = true
  for (const i of order) scattered &&= same(await store.get(i), piece(i))
  let inOrder = true
  for (let i = 0; i < N; i++) inOrder &&= same(await store.get(i), piece(i))
  const range = same(await store.get(9, { offset: 300, length: 5000 }), piece(9).subarray(300, 5300))
  await store.delete(5)
  const deleted = await code(store.get(5))
  let others = true
  for (const i of order.filter((i) => i !== 5)) others &&= same(await store.get(i), piece(i))
  const craftedCodes = [await code(crafted.get(0)), await code(crafted.get(1)), await code(crafted.get(3))]
  const craftedWhole = same(await crafted.get(2), piece(0)) // the whole first piece of the short record
  await store.close()
  await crafted.close()
  return { blobRuns, stored, scattered, inOrder, range, deleted, others, crafted: craftedCodes, craftedWhole }
}

let server: http.Server
let url: string
beforeAll(async () => {
  const out = await build({
    stdin: { contents: "import { IdbStore } from './engine/storage/idb.ts'; window.IdbStore = IdbStore", resolveDir: repoRoot, loader: 'ts' },
    bundle: true, format: 'iife', write: false, target: 'es2022'
  })
  const script = out.outputFiles[0]!.text
  server = http.createServer((req, res) => {
    res.setHeader('content-type', req.url === '/store.js' ? 'text/javascript' : 'text/html')
    res.end(req.url === '/store.js' ? script : '<!doctype html><title>idb store</title><script src="/store.js"></script>')
  }).listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
})
afterAll(() => { server?.close() })

function expectOutcome (got: Outcome | undefined): void {
  expect(got).toBeDefined()
  expect(got!.blobRuns).toBeGreaterThan(0)
  expect(got!.stored).toEqual(Array.from({ length: 24 }, (_, i) => i))
  expect(got!.scattered).toBe(true)
  expect(got!.inOrder).toBe(true)
  expect(got!.range).toBe(true)
  expect(got!.deleted).toBe('ERR_NOT_FOUND')
  expect(got!.others).toBe(true)
  expect(got!.crafted).toEqual(['ERR_NOT_FOUND', 'ERR_NOT_FOUND', 'ERR_NOT_FOUND'])
  expect(got!.craftedWhole).toBe(true)
}

describe('the IndexedDB store in real browsers, profile on disk, across a restart', () => {
  let profile: TempDir
  beforeAll(async () => { profile = await makeTempDir('peersite-idb-store-') })
  afterAll(async () => { await profile?.cleanup() })

  it('Chromium', async () => {
    const dir = resolve(profile.path, 'chromium')
    const got: Array<Outcome | undefined> = []
    for (const phase of ['write', 'read'] as const) {
      const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, args: [...CHROMIUM_ARGS], headless: true })
      try {
        const page = await context.newPage()
        await page.goto(url)
        got.push(await page.evaluate(inPage, phase))
      } finally {
        await context.close()
      }
    }
    expectOutcome(got[1])
  }, 120_000)

  it('Firefox ESR', async () => {
    const dir = resolve(profile.path, 'firefox')
    const got: Array<Outcome | undefined> = []
    for (const phase of ['write', 'read'] as const) {
      const browser = await launchFirefox(dir)
      try {
        const page = await browser.newPage()
        await page.goto(url)
        got.push(await page.evaluate(inPage, phase))
      } finally {
        await browser.close()
      }
    }
    expectOutcome(got[1])
  }, 120_000)
})
