#!/usr/bin/env node
/**
 * What the service worker's check costs (worker/verified-read.ts: WebCrypto SHA-1 of every piece it serves), next
 * to the raw node-datachannel -> Chromium transfer rate measured in the same run: SHA-1 throughput in a Chromium
 * worker (a dedicated worker: the same WebCrypto as a service worker) for several piece sizes, and the share of
 * one core it takes to check pieces arriving at the raw transfer rate.
 *
 *   npm run build && sh scripts/in-netns.sh node bench/worker-verify.mjs      (BENCH_VERIFY_MB=64 by default)
 *
 * Exports run() -> { title, markdown } for bench/run-all.mjs.
 */
import { createServer } from 'node:http'
import { pathToFileURL } from 'node:url'
import { launchChromium, rawNodeToChromium } from './lib/chromium.mjs'
import { assertInNetns, requireDist } from './lib/env.mjs'
import { envNumber, fmt, markdownTable } from './lib/table.mjs'

const PIECES = [16 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024]

/** Runs in a dedicated worker: SHA-1 of `mb` MB in pieces of `size`, piece after piece as the worker does. */
const WORKER = `
onmessage = async (e) => {
  const { mb, size } = e.data
  const piece = new Uint8Array(size)
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(piece.subarray(i, i + 65536))
  const count = Math.ceil(mb * 1e6 / size)
  await crypto.subtle.digest('SHA-1', piece) // warm-up
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    piece[0] = i & 255
    await crypto.subtle.digest('SHA-1', piece)
  }
  postMessage({ bytes: count * size, ms: performance.now() - t0 })
}`

export async function run () {
  assertInNetns()
  requireDist('bench/worker-verify')
  const mb = envNumber('BENCH_VERIFY_MB', 64)
  // A secure context for WebCrypto: a blank page from 127.0.0.1.
  const server = createServer((_, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html>') })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { browser } = await launchChromium()
  try {
    const context = await browser.newContext()
    const raw = await rawNodeToChromium(context, mb * 1e6, 64 * 1024)
    const page = await context.newPage()
    await page.goto(`http://127.0.0.1:${server.address().port}/`)
    const rows = []
    for (const size of PIECES) {
      const { bytes, ms } = await page.evaluate(async ([src, mb, size]) => {
        const worker = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })))
        const result = await new Promise((resolve) => { worker.onmessage = (e) => resolve(e.data); worker.postMessage({ mb, size }) })
        worker.terminate()
        return result
      }, [WORKER, mb, size])
      const hashMbps = bytes / 1e6 / (ms / 1000)
      rows.push([`${size / 1024} KiB`, fmt(hashMbps), fmt(ms / bytes * 1e8, 0), `${fmt(100 * raw.mbps / hashMbps)}%`])
    }
    const markdown = [
      `Raw node-datachannel -> Chromium in this run: ${fmt(raw.mbps)} MB/s (${mb} MB, 64 KiB messages).`,
      '',
      markdownTable(['piece size', 'SHA-1 in a worker, MB/s', 'ms per 100 MB', 'one core at the raw rate'], rows)
    ].join('\n')
    return { title: 'The worker\'s piece check (WebCrypto SHA-1) next to the transfer rate', markdown }
  } finally {
    await browser.close()
    server.close()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { title, markdown } = await run()
  console.log(`## ${title}\n\n${markdown}`)
}
