/**
 * The pointer code as a browser runs it (bundled for the page, no node: imports), in Chromium (playwright-core) and
 * Firefox (puppeteer-core over WebDriver BiDi): their WebCrypto Ed25519 checks the BEP 44 test vector, reads a
 * record a Node publisher signed off the `peersite_pointer` wire format, refuses a forgery and a rollback, and
 * signs a record Node accepts.
 */
import { createServer, type Server } from 'node:http'
import { build } from 'esbuild'
import puppeteer from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodePointerMessage, decodePointerMessage } from '../../engine/extensions/peersite_pointer.js'
import { generateEd25519, nodeSigner, nodeVerifier } from '../../engine/pointer/node.js'
import { signPointer, verifyPointer } from '../../engine/pointer/index.js'
import { fromHex, toHex } from '../../engine/util/bytes.js'
import { launchChromium, repoRoot } from './harness.js'

let server: Server
let url: string
const site = generateEd25519()

/** page.evaluate of either driver: run `fn(arg)` in the page, structured-clone the result back. */
type Evaluate = <A, R>(fn: (arg: A) => Promise<R>, arg: A) => Promise<R>
interface Driver { evaluate: Evaluate, close: () => Promise<void> }

/** The drivers' own evaluate types unwrap handles in ways these plain values never need. */
function evaluateWith (evaluate: unknown): Evaluate {
  return async <A, R>(fn: (arg: A) => Promise<R>, arg: A): Promise<R> => await (evaluate as (f: (arg: A) => Promise<R>, a: A) => Promise<R>)(fn, arg)
}

const FIREFOX = process.env.PEERSITE_FIREFOX ?? '/usr/bin/firefox'
const drivers: Record<string, () => Promise<Driver>> = {
  chromium: async () => {
    const browser = await launchChromium()
    const page = await browser.newPage()
    await page.goto(url)
    await page.waitForFunction(() => 'peersitePointer' in globalThis)
    return { evaluate: evaluateWith(page.evaluate.bind(page)), close: async () => await browser.close() }
  },
  firefox: async () => {
    const browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true })
    const page = await browser.newPage()
    await page.goto(url)
    await page.waitForFunction(() => 'peersitePointer' in globalThis)
    return { evaluate: evaluateWith(page.evaluate.bind(page)), close: async () => await browser.close() }
  }
}

beforeAll(async () => {
  // The engine's pointer modules as the loader would bundle them, exposed on window for the test.
  const bundle = await build({
    stdin: {
      contents: `
        import * as pointer from './engine/pointer/index.ts'
        import * as wire from './engine/extensions/peersite_pointer.ts'
        import * as bytes from './engine/util/bytes.ts'
        globalThis.peersitePointer = { ...pointer, ...wire, ...bytes }`,
      resolveDir: repoRoot,
      loader: 'ts'
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'silent'
  })
  const js = bundle.outputFiles[0]!.text
  expect(js).not.toMatch(/require\("node:|from "node:/)
  server = createServer((req, res) => {
    if (req.url === '/pointer.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(js)
      return
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>pointer</title><script src="/pointer.js"></script>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  // 127.0.0.1 is a secure context: crypto.subtle is there.
  url = `http://127.0.0.1:${port}/`
}, 60_000)

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
})

type P = typeof import('../../engine/pointer/index.js') & typeof import('../../engine/extensions/peersite_pointer.js') & typeof import('../../engine/util/bytes.js')

describe.each(Object.keys(drivers))('pointer records in %s (WebCrypto Ed25519)', (name) => {
  let driver: Driver
  beforeAll(async () => {
    driver = await drivers[name]!()
  }, 60_000)
  afterAll(async () => {
    await driver?.close()
  })

  it('verifies the BEP 44 test vector', async () => {
    const ok = await driver.evaluate(async () => {
      const p = (globalThis as unknown as { peersitePointer: P }).peersitePointer
      const v = p.webCryptoVerifier()
      const pk = p.fromHex('77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548')
      const sig = p.fromHex('305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01')
      const value = p.utf8.encode('12:Hello World!')
      return [await v.verify(pk, p.signingBuffer(1, value), sig), await v.verify(pk, p.signingBuffer(2, value), sig)]
    }, undefined)
    expect(ok).toEqual([true, false])
  })

  it('takes a Node-signed record off the wire, refuses a forgery and a rollback', async () => {
    const signer = nodeSigner(site.seed)
    const v2 = encodePointerMessage(await signPointer(signer, { infoHash: '22'.repeat(20), seq: 20 }))
    const v1 = encodePointerMessage(await signPointer(signer, { infoHash: '11'.repeat(20), seq: 10 }))
    const forged = encodePointerMessage({ ...decodePointerMessage(v1), seq: 30 })
    const result = await driver.evaluate(async ({ key, messages }: { key: string, messages: string[] }) => {
      const p = (globalThis as unknown as { peersitePointer: P }).peersitePointer
      const book = new p.PointerBook({ verifier: p.webCryptoVerifier() }, { publicKey: p.fromHex(key) })
      const out: string[] = []
      for (const m of messages) {
        const d = await book.offer(p.decodePointerMessage(p.fromHex(m)))
        out.push(d.kind === 'refused' ? `refused:${d.error.reason}` : `${d.kind}:${d.record.seq}:${d.record.infoHash}`)
      }
      return out
    }, { key: toHex(site.publicKey), messages: [v2, forged, v1].map(toHex) })
    expect(result).toEqual([`newer:20:${'22'.repeat(20)}`, 'refused:invalid', 'refused:rollback'])
  })

  it('signs a record that Node verifies', async () => {
    const hex = await driver.evaluate(async ({ seed, key }: { seed: string, key: string }) => {
      const p = (globalThis as unknown as { peersitePointer: P }).peersitePointer
      const signer = await p.webCryptoSigner(p.fromHex(seed), p.fromHex(key))
      return p.toHex(p.encodePointerMessage(await p.signPointer(signer, { infoHash: '33'.repeat(20), seq: 40 })))
    }, { seed: toHex(site.seed), key: toHex(site.publicKey) })
    const record = await verifyPointer(nodeVerifier, decodePointerMessage(fromHex(hex)), { publicKey: site.publicKey })
    expect(record.infoHash).toBe('33'.repeat(20))
    expect(record.seq).toBe(40)
  })
})
