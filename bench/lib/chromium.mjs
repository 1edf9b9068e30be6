/**
 * Chromium for the benchmarks (Debian's /usr/bin/chromium through playwright-core) and the raw data-channel
 * ceilings that involve a browser, measured the same way as bench/raw-datachannel.mjs measures Node to Node:
 * one data channel, 16 KiB messages, the sender keeping bufferedAmount under 4 MiB (refilling on
 * `bufferedamountlow` at 1 MiB), no STUN. Signalling goes through this process (non-trickle: each side waits
 * for ICE gathering to complete, which takes milliseconds without STUN).
 */
import { existsSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { BASE_CHROMIUM_ARGS, CHROMIUM } from './first-paint.mjs'
import { dist } from './swarm.mjs'
import { mbps } from './table.mjs'
import { pumpChannel, RAW_LOW_WATER, RAW_MAX_BUFFERED, RAW_MESSAGE_SIZE } from './webrtc.mjs'

export { CHROMIUM }
export const CHROMIUM_ARGS = [
  ...BASE_CHROMIUM_ARGS,
  // Media benchmarks play video without a click; exact performance.memory figures (else they are bucketed).
  '--autoplay-policy=no-user-gesture-required', '--enable-precise-memory-info'
]

/**
 * Launches Chromium. `tag` is an extra (ignored) command-line switch that lets processTreeMemory() (memory.mjs) find this
 * browser's processes among the others running on the machine.
 * @returns {Promise<{ browser: import('playwright-core').Browser, tag: string }>}
 */
export async function launchChromium (extraArgs = []) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set PEERSITE_CHROMIUM)`)
  const { chromium } = await import('playwright-core')
  const tag = `peersite-bench-${randomBytes(6).toString('hex')}`
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, `--${tag}`, ...extraArgs], headless: true })
  return { browser, tag }
}

/**
 * Chromium with a profile on disk (`dir`), as a visitor's browser has: its IndexedDB and Cache Storage live in
 * files. The contexts of launchChromium()'s browser (browser.newContext()) are off the record, like an incognito
 * window: Chromium keeps their storage in memory.
 * @returns {Promise<{ context: import('playwright-core').BrowserContext, tag: string }>}
 */
export async function launchPersistentChromium (dir, extraArgs = [], options = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set PEERSITE_CHROMIUM)`)
  const { chromium } = await import('playwright-core')
  const tag = `peersite-bench-${randomBytes(6).toString('hex')}`
  const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, `--${tag}`, ...extraArgs], headless: true, ...options })
  return { context, tag }
}

/**
 * A context in one of the two places a visitor's storage lives: `'profile on disk'` (launchPersistentChromium in
 * `profileDir`) or `'off the record'` (a context of launchChromium()'s browser). Close `browser` when there is one,
 * else `context`.
 * @returns {Promise<{ context: import('playwright-core').BrowserContext, tag: string, browser?: import('playwright-core').Browser }>}
 */
export async function launchStorageContext (where, profileDir) {
  if (where === 'profile on disk') return await launchPersistentChromium(profileDir)
  const { browser, tag } = await launchChromium()
  return { context: await browser.newContext(), tag, browser }
}

/** Closes what launchStorageContext opened (the context within 10 s, then its browser if it has one of its own). */
export async function closeStorageContext ({ context, browser }) {
  await Promise.race([context.close(), new Promise((resolve) => setTimeout(resolve, 10_000))])
  await browser?.close()
}

/** In a page: an RTCPeerConnection that answers `offer` and counts what arrives on its data channel. */
const PAGE_RECEIVER = `(${async (offer) => {
  const pc = new RTCPeerConnection({ iceServers: [] })
  const state = { pc, received: 0, first: 0, last: 0, want: Infinity, resolve: null }
  window.__raw = state
  state.done = new Promise((resolve) => { state.resolve = resolve })
  pc.ondatachannel = (e) => {
    const ch = e.channel
    ch.binaryType = 'arraybuffer'
    ch.onmessage = (m) => {
      if (state.received === 0) state.first = performance.now()
      state.received += m.data.byteLength
      if (state.received >= state.want) {
        state.last = performance.now()
        state.resolve()
      }
    }
  }
  await pc.setRemoteDescription(offer)
  await pc.setLocalDescription(await pc.createAnswer())
  if (pc.iceGatheringState !== 'complete') {
    await new Promise((resolve) => pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve() }))
  }
  return { type: pc.localDescription.type, sdp: pc.localDescription.sdp }
}})`

async function gathered (pc) {
  if (pc.iceGatheringState === 'complete') return
  await new Promise((resolve) => {
    const check = () => { if (pc.iceGatheringState === 'complete') resolve() }
    pc.addEventListener('icegatheringstatechange', check)
    pc.addEventListener('icecandidate', (e) => { if (e.candidate === null) resolve() })
  })
}

/**
 * The raw node-datachannel -> Chromium ceiling: `bytes` from a Node RTCPeerConnection to a fresh page of
 * `context`, in `messageSize` messages. Timed in this process from the first send to the page's last byte. `cpu`
 * (optional, e.g. () => cpuSnapshot(tag)) is sampled at the start and the end of the transfer, before the page closes.
 * @returns {Promise<{ bytes: number, ms: number, mbps: number, cpu?: { before: any, after: any } }>}
 */
export async function rawNodeToChromium (context, bytes = 100e6, messageSize = RAW_MESSAGE_SIZE, cpu = undefined) {
  // The engine's patch first: node-datachannel's polyfill then ends gathering with a null candidate. Its SCTP settings
  // come with it (engine/transport/node-wrtc.ts): the ceiling is the channel the engine's seeder uses.
  const { nodeWrtc } = await dist('engine/transport/node-wrtc.js')
  const page = await context.newPage()
  const pc = new nodeWrtc.RTCPeerConnection({ iceServers: [] })
  try {
    const ch = pc.createDataChannel('raw')
    const open = new Promise((resolve) => ch.addEventListener('open', resolve, { once: true }))
    await pc.setLocalDescription(await pc.createOffer())
    await gathered(pc)
    const answer = await page.evaluate(`${PAGE_RECEIVER}(${JSON.stringify({ type: 'offer', sdp: pc.localDescription.sdp })})`)
    await pc.setRemoteDescription(answer)
    await open
    await page.evaluate((want) => { window.__raw.want = want }, bytes)
    const before = await cpu?.()
    const start = performance.now()
    const done = page.evaluate(() => window.__raw.done)
    pumpChannel(ch, bytes, new Uint8Array(messageSize).fill(7))
    await done
    const ms = performance.now() - start
    const after = await cpu?.()
    return { bytes, ms, mbps: mbps(bytes, ms), ...(cpu !== undefined ? { cpu: { before, after } } : {}) }
  } finally {
    try { pc.close() } catch {}
    await page.close().catch(() => {})
  }
}

/**
 * The raw Chromium -> Chromium ceiling: two pages in two contexts of one browser, `bytes` from the first to
 * the second, in `messageSize` messages. Timed in this process from the sender's start to the receiver's last byte.
 * `cpu`: as rawNodeToChromium's.
 * @returns {Promise<{ bytes: number, ms: number, mbps: number, cpu?: { before: any, after: any } }>}
 */
export async function rawChromiumToChromium (browser, bytes = 100e6, messageSize = RAW_MESSAGE_SIZE, cpu = undefined) {
  const ca = await browser.newContext()
  const cb = await browser.newContext()
  try {
    const a = await ca.newPage()
    const b = await cb.newPage()
    const offer = await a.evaluate(async () => {
      const pc = new RTCPeerConnection({ iceServers: [] })
      const ch = pc.createDataChannel('raw')
      ch.binaryType = 'arraybuffer'
      window.__send = { pc, ch, open: new Promise((resolve) => { ch.onopen = resolve }) }
      await pc.setLocalDescription(await pc.createOffer())
      if (pc.iceGatheringState !== 'complete') {
        await new Promise((resolve) => pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve() }))
      }
      return { type: pc.localDescription.type, sdp: pc.localDescription.sdp }
    })
    const answer = await b.evaluate(`${PAGE_RECEIVER}(${JSON.stringify(offer)})`)
    await a.evaluate(async (answer) => {
      await window.__send.pc.setRemoteDescription(answer)
      await window.__send.open
    }, answer)
    await b.evaluate((want) => { window.__raw.want = want }, bytes)
    const before = await cpu?.()
    const start = performance.now()
    const done = b.evaluate(() => window.__raw.done)
    await a.evaluate(([total, size, max, low]) => new Promise((resolve) => {
      const { ch } = window.__send
      const message = new Uint8Array(size).fill(7)
      let sent = 0
      const pump = () => {
        while (sent < total && ch.bufferedAmount < max) {
          const n = Math.min(size, total - sent)
          ch.send(n === size ? message : message.subarray(0, n))
          sent += n
        }
        if (sent >= total) resolve()
      }
      ch.bufferedAmountLowThreshold = low
      ch.onbufferedamountlow = pump
      pump()
    }), [bytes, messageSize, RAW_MAX_BUFFERED, RAW_LOW_WATER])
    await done
    const ms = performance.now() - start
    const after = await cpu?.()
    return { bytes, ms, mbps: mbps(bytes, ms), ...(cpu !== undefined ? { cpu: { before, after } } : {}) }
  } finally {
    await ca.close().catch(() => {})
    await cb.close().catch(() => {})
  }
}

/** The site frame of a loader page once its document shows `h1`. */
export async function siteFrame (page, h1, timeout = 60_000) {
  await page.waitForFunction((text) => document.getElementById('peersite-frame')?.contentDocument?.querySelector('h1')?.textContent === text, h1, { timeout })
  const frame = await (await page.$('#peersite-frame')).contentFrame()
  if (frame === null) throw new Error('no site frame')
  return frame
}

/** Fetches `path` in the site frame, reading the body to the end; returns the time and the engine's state at the start. */
export async function timedFetch (frame, path) {
  return await frame.evaluate(async (path) => {
    const before = window.parent.peersite.stats()
    const start = performance.now()
    // When the engine holds the whole torrent: with the fetch starting at ~0 bytes, engine time ~ fetch time
    // means the wire/engine is the bottleneck, not the worker's stream.
    let engineMs = NaN
    const poll = setInterval(() => {
      if (window.parent.peersite.torrent?.done === true) { engineMs = performance.now() - start; clearInterval(poll) }
    }, 20)
    const res = await fetch(path)
    const headersAt = performance.now() - start
    const reader = res.body.getReader()
    let bytes = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      bytes += value.byteLength
    }
    const ms = performance.now() - start
    // The body can end before the engine is done: readers get pieces before they are stored (IndexedDB), and
    // 'done' waits for the store. Wait a little for it.
    for (let i = 0; i < 150 && Number.isNaN(engineMs); i++) await new Promise((resolve) => setTimeout(resolve, 20))
    clearInterval(poll)
    return { status: res.status, bytes, ms, engineMs, headersMs: headersAt, downloadedBefore: before?.downloaded ?? 0 }
  }, path)
}
