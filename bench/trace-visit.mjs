#!/usr/bin/env node
/**
 * Where a visit's time goes: one real site (bench/real-sites.mjs's list) opened cold and warm through peersite and
 * from a plain static server, printing the loader's User Timing marks (`peersite:*`) and every resource of the
 * site's document (start, first byte, end, in ms since the top-level navigation), slowest first.
 *
 *   npm run build && sh scripts/in-netns.sh node bench/trace-visit.mjs mathjax [--plain] [--all] [--profile] [--settle] [--chrome-trace] [--chrome-trace-cold]
 * --settle: the warm visit once the first visit's download has settled, as bench/real-sites.mjs does.
 * --chrome-trace: the warm visits under Chromium's tracing, with a summary of the renderer's main thread (below).
 * --chrome-trace-cold: the cold visit under Chromium's tracing, written to a file (every thread: WebRTC's signaling and
 * network threads, the browser process), e.g. TRACE_CATEGORIES='*,disabled-by-default-webrtc' for where an offer
 * waits before its first candidate.
 * The `swarm:` line has the first offering connection's steps (pc0: offer asked for and made, local description set,
 * first candidate), the tracker's and the data channel's, and the first wire messages each way.
 * --profile: the renderer main thread's JavaScript self time during the cold visit, by function and time slice
 * (TRACE_SLICE_MS, default 500). After each cold visit: the datagrams dropped so far by full UDP receive buffers
 * (/proc/net/udp of the bench's network namespace; Chromium's network service drops the seeder's packets when it
 * falls behind, and SCTP then waits for a retransmission). TRACE_SCTP='{"sendBufferSize":262144}' passes
 * node-datachannel's setSctpSettings to the seeder (a diagnostic: those settings are process-wide; the fields not
 * given go back to libdatachannel's defaults, and a send buffer below the maximum message size, 256 KiB for Node
 * peers (NODE_MAX_MESSAGE_SIZE), is raised to it).
 * A diagnostic, not a benchmark: it exports no run(), so bench/run-all.mjs skips it.
 */
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { launchChromium } from './lib/chromium.mjs'
import { assertInNetns, requireDist } from './lib/env.mjs'
import { startLocalSite } from './lib/local-site.mjs'
import { dist } from './lib/swarm.mjs'
import { armUsable, SITES, siteFolder, timeUntilUsable } from './real-sites.mjs'

/** Timestamps of the WebSocket and WebRTC steps in the shell (wrapped constructors). */
const TRACE = `(() => {
  if (window.top !== window) return
  const trace = window.__trace = []
  const note = (n) => trace.push([n, performance.now()])
  // When the shell's document starts running scripts (this one first), and when its inline script adds the frame.
  note('init')
  const append = Element.prototype.append
  Element.prototype.append = function (...a) { if (a[0]?.tagName === 'IFRAME') note('frame-added'); return append.apply(this, a) }
  // Long tasks on the renderer's main thread, which the engine (this page, 'self') shares with the site's frame
  // ('same-origin-descendant'): who held it, and when.
  const longTasks = window.__longTasks = []
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) longTasks.push([e.name, Math.round(e.startTime), Math.round(e.duration)]) })
      .observe({ type: 'longtask', buffered: true })
  } catch {}
  // The shell's own start: the inline script's worker registration and fetches, the document's ready states, and
  // when the worker took control (what the frame's first request waits for).
  document.addEventListener('readystatechange', () => note('doc-' + document.readyState))
  const reg = ServiceWorkerContainer.prototype.register
  ServiceWorkerContainer.prototype.register = function (...a) { note('sw-register'); return reg.apply(this, a) }
  navigator.serviceWorker?.addEventListener('controllerchange', () => note('sw-controls'))
  const f = window.fetch
  window.fetch = function (u, ...a) { note('fetch-' + String(u).split('/').pop()); return f.call(this, u, ...a) }
  const WS = window.WebSocket
  window.WebSocket = class extends WS {
    constructor (...a) {
      super(...a); note('ws-new')
      this.addEventListener('open', () => note('ws-open'))
      this.addEventListener('message', (e) => { const m = String(e.data); note(m.includes('"answer"') ? 'ws-answer' : m.includes('"offer"') ? 'ws-offer' : 'ws-msg') })
    }
    send (d) { note(String(d).includes('"offers":[{') ? 'ws-announce+offers' : String(d).includes('"answer"') ? 'ws-send-answer' : 'ws-send'); super.send(d) }
  }
  const PC = window.RTCPeerConnection
  let n = 0
  window.RTCPeerConnection = class extends PC {
    constructor (...a) {
      super(...a); const id = n++
      if (id === 0) note('pc-new')
      this.addEventListener('icegatheringstatechange', () => { if (this.iceGatheringState === 'complete') note('pc' + id + '-gathered') })
      // pc0's candidates as they come (type/protocol), to see what a description waits for.
      // (pc0: the first connection that makes an offer, not a connection made only to start WebRTC early.)
      this.addEventListener('icecandidate', (e) => { if (this === window.__pc0) note(e.candidate ? 'pc0-' + (e.candidate.type ?? '?') + '/' + (e.candidate.protocol ?? '?') : 'pc0-cand-end') })
      this.addEventListener('connectionstatechange', () => { if (this.connectionState === 'connected') note('pc' + id + '-connected') })
      const wire = (ch) => {
        ch.addEventListener('open', () => note('pc' + id + '-open'))
        let ins = 0
        let outs = 0
        const kind = (d) => { const b = new Uint8Array(d instanceof ArrayBuffer ? d : d.buffer ?? d); return b.length === 0 ? 'empty' : b[0] === 19 ? 'hs' : b.length >= 5 ? 'm' + b[4] : 'ka' }
        const bucket = (key, n) => { const b = Math.floor(performance.now() / 100); const h = window.__hist ??= {}; (h[b] ??= { in: 0, req: 0 })[key] += n }
        ch.addEventListener('message', (e) => { if (ins++ < 12) note('in-' + kind(e.data)); bucket('in', e.data.byteLength ?? e.data.size ?? 0) })
        const send = ch.send
        ch.send = function (d) { if (outs++ < 12) note('out-' + kind(d)); const b = new Uint8Array(d instanceof ArrayBuffer ? d : d.buffer); let r = 0; for (let p = 0; p + 5 <= b.length;) { const len = (b[p] << 24 | b[p + 1] << 16 | b[p + 2] << 8 | b[p + 3]) >>> 0; if (b[p + 4] === 6) r++; p += 4 + len } bucket('req', r); return send.call(this, d) }
      }
      const cdc = this.createDataChannel
      this.createDataChannel = (...b) => { const ch = cdc.apply(this, b); wire(ch); return ch }
      this.addEventListener('datachannel', (e) => wire(e.channel))
    }
    setRemoteDescription (d) { note('pc' + n + '-remote'); return super.setRemoteDescription(d) }
    // pc0's offer: when the page asked for it, when it came back, and when its gathering could start (the local
    // description set), each of which waits for the main thread.
    createOffer (...a) { window.__pc0 ??= this; const first = this === window.__pc0; if (first) note('pc0-create-offer'); return super.createOffer(...a).then((o) => { if (first) note('pc0-offer'); return o }) }
    setLocalDescription (d) { if (this === window.__pc0) note('pc0-sld'); return super.setLocalDescription(d) }
  }
  // The engine port (loader/engine-host.ts): each read the worker opens, and when its first and last piece left.
  const reads = window.__reads = new Map()
  const desc = Object.getOwnPropertyDescriptor(MessagePort.prototype, 'onmessage')
  Object.defineProperty(MessagePort.prototype, 'onmessage', {
    configurable: true,
    get () { return desc.get.call(this) },
    set (fn) {
      desc.set.call(this, fn && ((e) => {
        const m = e.data
        if (m && m.type === 'read') reads.set(m.id, { path: m.path, pieces: m.last - m.first + 1, open: performance.now(), first: null, last: null })
        return fn(e)
      }))
    }
  })
  const post = MessagePort.prototype.postMessage
  MessagePort.prototype.postMessage = function (m, t) {
    if (m && m.type === 'piece') { const r = reads.get(m.id); if (r) { r.first ??= performance.now(); r.last = performance.now() } }
    return post.call(this, m, t)
  }
})()`

/** The marks of the shell and the resource entries of the site's document, in ms since the navigation start. */
async function timeline (page) {
  return await page.evaluate(() => {
    const events = (window.__trace ?? []).map(([n, t]) => [n, Math.round(t)])
    const hist = Object.entries(window.__hist ?? {}).map(([b, v]) => `${b * 100}:${Math.round(v.in / 1024)}K/${v.req}r`).join(' ')
    const longTasks = window.__longTasks ?? []
    const reads = [...(window.__reads ?? new Map()).values()].map((r) => ({ ...r, open: Math.round(r.open), first: Math.round(r.first), last: Math.round(r.last) }))
    const frame = document.getElementById('peersite-frame')
    const w = frame !== null ? frame.contentWindow : window
    const shift = w.performance.timeOrigin - performance.timeOrigin
    const marks = performance.getEntriesByType('mark').filter((m) => m.name.startsWith('peersite:')).map((m) => [m.name.slice(9), Math.round(m.startTime)])
    const nav = w.performance.getEntriesByType('navigation')[0]
    const entry = (e, label) => ({
      name: label ?? e.name.replace(location.origin, ''),
      start: Math.round(shift + e.startTime),
      worker: e.workerStart > 0 ? Math.round(shift + e.workerStart) : null,
      first: Math.round(shift + e.responseStart),
      end: Math.round(shift + e.responseEnd),
      size: e.decodedBodySize
    })
    const resources = w.performance.getEntriesByType('resource').map((e) => entry(e))
    // The shell's own files (peersite.js, peersite.json, site.torrent, sw.js): start, first byte, end.
    const shell = frame !== null ? performance.getEntriesByType('resource').filter((e) => !e.name.includes('/announce') && e.initiatorType !== 'iframe').map((e) => {
      const n = e.name.replace(location.origin, '')
      return `${n} ${Math.round(e.startTime)}/${Math.round(e.responseStart)}/${Math.round(e.responseEnd)}`
    }) : []
    const shellNav = frame !== null ? performance.getEntriesByType('navigation')[0] : undefined
    // The shell's own navigation, step by step (the worker's fetch event, its answer, the document's parse).
    const steps = shellNav ? ['workerStart', 'fetchStart', 'responseStart', 'responseEnd', 'domInteractive', 'domContentLoadedEventEnd', 'loadEventEnd'].map((k) => `${k} ${Math.round(shellNav[k])}`).join(', ') : undefined
    return { marks, events, reads, hist, longTasks, doc: nav ? entry(nav, '(document)') : null, resources, shell, shellDoc: shellNav ? Math.round(shellNav.responseEnd) : undefined, shellSteps: steps }
  })
}

function print (label, usable, t) {
  console.log(`\n== ${label}: usable at ${Math.round(usable)} ms`)
  if (t.shellSteps !== undefined) console.log(`shell navigation: ${t.shellSteps}`)
  if (t.shell?.length > 0) console.log(`shell: document ends ${t.shellDoc}; ` + t.shell.join(', ') + ' (start/first byte/end)')
  if (t.marks.length > 0) console.log('marks: ' + t.marks.map(([n, v]) => `${n} ${v}`).join(', '))
  if (t.events.length > 0) console.log('swarm: ' + t.events.slice(0, 80).map(([n, v]) => `${n} ${v}`).join(', '))
  if (t.hist) console.log('wire per 100 ms (KiB in / requests out): ' + t.hist)
  if (t.longTasks?.length > 0) {
    const before = t.longTasks.filter(([, start]) => start < usable)
    const sum = (name) => before.filter(([n]) => n === name).reduce((a, [, , d]) => a + d, 0)
    console.log(`long tasks before usable: loader page (engine) ${sum('self')} ms, site frame ${sum('same-origin-descendant')} ms, other ${before.reduce((a, [, , d]) => a + d, 0) - sum('self') - sum('same-origin-descendant')} ms`)
    console.log('  ' + before.map(([n, start, d]) => `${n === 'self' ? 'E' : n === 'same-origin-descendant' ? 'S' : '?'}${start}+${d}`).join(' '))
  }
  if (t.reads.length > 0) {
    console.log('engine reads (open, first piece, last piece):')
    for (const r of t.reads) console.log(`  ${String(r.open).padStart(5)} ${String(r.first).padStart(5)} ${String(r.last).padStart(5)}  ${r.path} (${r.pieces} pieces)`)
  }
  const rows = [t.doc, ...t.resources].filter(Boolean)
  const shown = all ? rows : rows.sort((a, b) => (b.end - b.start) - (a.end - a.start)).slice(0, 15).sort((a, b) => a.start - b.start)
  for (const r of shown) {
    console.log(`  ${String(r.start).padStart(5)} ${String(r.worker ?? '-').padStart(5)} ${String(r.first).padStart(5)} ${String(r.end).padStart(5)}  (${String(r.end - r.start).padStart(4)} ms, ${String(Math.round(r.size / 1024)).padStart(5)} KiB) ${r.name}`)
  }
  console.log(`  ${rows.length} requests; last ends at ${Math.max(...rows.map((r) => r.end))}`)
}

/**
 * --profile: the renderer main thread's JavaScript self time (the loader page and the site's frame share it) during
 * the cold visit, by function, split in 500 ms slices of the profile (which starts just before the navigation).
 */
const profile = process.argv.includes('--profile')
const SLICE = Number(process.env.TRACE_SLICE_MS ?? 500)

function printProfile (label, p, usable) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const rows = new Map()
  let t = p.startTime
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]
    const n = byId.get(p.samples[i])
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000
    const f = n.callFrame
    if (f.functionName === '(idle)' || f.functionName === '(program)' && false) continue
    const slice = Math.floor((t - p.startTime) / 1000 / SLICE) * SLICE
    const file = f.url.split('/').pop()
    const key = `${f.functionName || '(anon)'} ${file}:${f.lineNumber}`
    const r = rows.get(key) ?? rows.set(key, { total: 0, slices: {} }).get(key)
    r.total += dt
    r.slices[slice] = (r.slices[slice] ?? 0) + dt
  }
  const top = [...rows].sort((a, b) => b[1].total - a[1].total).slice(0, 40)
  console.log(`\n== ${label}: JS self time (ms) on the main thread, usable at ${Math.round(usable)}; by SLICE ms slice`)
  const totals = {}
  for (const [, r] of rows) for (const [s, v] of Object.entries(r.slices)) totals[s] = (totals[s] ?? 0) + v
  console.log('  all: ' + Object.entries(totals).map(([s, v]) => `${s}:${Math.round(v)}`).join(' '))
  for (const [k, r] of top) console.log(`  ${String(Math.round(r.total)).padStart(5)}  ${k}  ` + Object.entries(r.slices).map(([s, v]) => `${s}:${Math.round(v)}`).join(' '))
}

/** Datagrams dropped by full receive buffers, per socket still open (this network namespace holds only the bench). */
function udpDrops () {
  try {
    return readFileSync('/proc/net/udp', 'utf8').trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => Number(f.at(-1)) > 0).map((f) => `${f[1]}:${f.at(-1)}`).join(' ') || 'none'
  } catch { return '?' }
}

/** --settle: the warm visit after the first visit's download settled (bench/real-sites.mjs does so). */
const settle = process.argv.includes('--settle')

/**
 * --chrome-trace: the warm visits recorded with Chromium's tracing (peersite-trace-SITE-LABEL-warm.json in the temporary folder, for
 * chrome://tracing or Perfetto), and a summary of the renderer's main thread until usable, in ms since the top-level
 * navigation: each document's commit, the frame's creation, layout and paint, the site's scripts' evaluation, and
 * the tasks of the DevTools protocol (playwright's own work in the page: its injected script for waitForFunction, its
 * set-up of every new frame; a visitor's browser has none of them, and the shell's page has two frames where a plain
 * page has one).
 */
const chromeTrace = process.argv.includes('--chrome-trace')
/**
 * --chrome-trace-cold: the cold visit under Chromium's tracing (peersite-trace-SITE-LABEL-cold.json in the temporary
 * folder; TRACE_CATEGORIES, comma-separated, replaces the default categories), every thread of every process.
 */
const chromeTraceCold = process.argv.includes('--chrome-trace-cold')

/**
 * --chrome-trace-cold: the tasks Chromium's WebRTC runs before an offer's first candidate, in ms since the top-level
 * navigation (each hop through the renderer's main thread waits behind the page's own tasks there): the network list
 * asked for (AddNetworkListObserver, GetP2PSocketManager) and received (NetworkListChanged), the media permission
 * checks that decide which networks to use (HasPermission), the port allocation (DoAllocate) and its UDP sockets (Init).
 */
function printWebRtcGates (trace) {
  const events = trace.traceEvents ?? trace
  const t0 = Math.min(...events.filter((e) => e.name === 'navigationStart').map((e) => e.ts))
  const threads = new Map(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.pid + ':' + e.tid, e.args.name]))
  const gates = events.filter((e) => e.name === 'ThreadControllerImpl::RunTask' && /^(AddNetworkListObserver|GetP2PSocketManager|NetworkListChanged|HasPermission|DoAllocate|Init|SetLocalDescription|CreatePeerConnectionFactory)$/.test(e.args?.src_func ?? '') &&
    /p2p|peerconnection|media_permission|basic_port_allocator/.test(e.args?.src_file ?? '')).sort((a, b) => a.ts - b.ts)
  const seen = new Set()
  const firsts = gates.filter((e) => { const k = e.args.src_func + ' ' + threads.get(e.pid + ':' + e.tid); return !seen.has(k) && seen.add(k) })
  console.log('WebRTC before the first candidate (first of each, ms): ' + (firsts.map((e) => `${e.args.src_func} (${threads.get(e.pid + ':' + e.tid)}) ${Math.round((e.ts - t0) / 1000)}`).join(', ') || 'none (the toplevel category is needed)'))
}

function printMainThread (trace, usable, file) {
  const events = trace.traceEvents ?? trace
  const t0 = Math.min(...events.filter((e) => e.name === 'navigationStart').map((e) => e.ts))
  const at = (e) => Math.round((e.ts - t0) / 1000)
  const ms = (e) => Math.round(e.dur / 100) / 10
  const within = events.filter((e) => e.ph === 'X' && e.dur !== undefined && e.ts >= t0 && at(e) <= usable)
  const list = (pick) => within.filter(pick).sort((a, b) => a.ts - b.ts)
  const show = (xs) => xs.map((e) => `${at(e)}+${ms(e)}`).join(' ')
  const sum = (xs) => Math.round(xs.reduce((a, e) => a + e.dur, 0) / 1000)
  const devtools = list((e) => e.name === 'Receive mojo message' && JSON.stringify(e.args ?? {}).includes('DevToolsSession') && e.dur >= 500)
  const layout = list((e) => ['Layout', 'UpdateLayoutTree', 'Paint', 'Layerize'].includes(e.name))
  const scripts = list((e) => e.name === 'EvaluateScript' && (e.args?.data?.url ?? '') !== '' && e.dur >= 2000)
  console.log(`main thread until usable (${file}):`)
  console.log(`  commits ${show(list((e) => e.name === 'RenderFrameImpl::CommitNavigation'))}; frame created ${show(list((e) => e.name === 'HTMLFrameOwnerElement::LoadOrRedirectSubframe'))}`)
  console.log(`  DevTools protocol tasks ${sum(devtools)} ms: ${show(devtools)}`)
  console.log(`  style, layout, paint ${sum(layout)} ms; scripts (>= 2 ms) ${scripts.map((e) => `${at(e)}+${ms(e)} ${e.args.data.url.split('/').pop() || '/'}`).join(', ')}`)
}

/** --all: every resource, in order (else the 15 slowest). */
const all = process.argv.includes('--all')

async function main () {
  const name = process.argv[2] ?? 'mathjax'
  assertInNetns()
  requireDist('bench/trace-visit')
  const spec = SITES.find((s) => s.name === name)
  if (spec === undefined) throw new Error(`no site ${name}`)
  const dir = await siteFolder(spec, (s) => process.stderr.write(s + '\n'))

  const { browser } = await launchChromium()
  const site = await startLocalSite(dir, { label: spec.name })
  // After the seeder's start: the engine's Node transport sets its own when loaded (engine/transport/node-wrtc.ts).
  if (process.env.TRACE_SCTP) (await import('node-datachannel')).setSctpSettings(JSON.parse(process.env.TRACE_SCTP))
  const { startStaticServer } = await dist('cli/lib/static-server.js')
  const plain = await startStaticServer({ root: dir, host: '127.0.0.1' })
  try {
    for (const [label, url] of [...(process.argv.includes('--plain') ? [['plain', plain.url]] : []), ['peersite', site.url]]) {
      const context = await browser.newContext()
      await context.addInitScript(TRACE)
      await armUsable(context, spec.usable)
      const page = await context.newPage()
      const before = plain.requests.length
      // This process (the seeder, the tracker and the static server live here): its event loop's delay, and what the
      // seeder sent per 100 ms, so a slow stretch in the page's wire line can be told from a starved seeder.
      const lag = monitorEventLoopDelay({ resolution: 5 })
      lag.enable()
      const sent = []
      const t0 = performance.now()
      let last = site.seederStats()?.uploaded ?? 0
      const sampler = setInterval(() => {
        const now = site.seederStats()?.uploaded ?? 0
        if (now !== last) sent.push(`${Math.floor((performance.now() - t0) / 100) * 100}:${Math.round((now - last) / 1024)}K`)
        last = now
      }, 100)
      const cdp = profile ? await context.newCDPSession(page) : undefined
      if (cdp !== undefined) {
        await cdp.send('Profiler.enable')
        await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
        await cdp.send('Profiler.start')
      }
      if (chromeTraceCold) await browser.startTracing(page, { categories: (process.env.TRACE_CATEGORIES ?? 'devtools.timeline,loading,navigation,toplevel,webrtc,ServiceWorker,blink.user_timing,v8').split(',') })
      await page.goto(url, { waitUntil: 'commit' })
      const cold = await timeUntilUsable(page, spec.usable)
      if (chromeTraceCold) {
        const file = join(tmpdir(), `peersite-trace-${name}-${label}-cold.json`)
        const buffer = await browser.stopTracing()
        await writeFile(file, buffer)
        console.log(`cold visit's Chromium trace: ${file}`)
        printWebRtcGates(JSON.parse(buffer.toString('utf8')))
      }
      if (cdp !== undefined) printProfile(`${label} cold`, (await cdp.send('Profiler.stop')).profile, cold)
      clearInterval(sampler)
      lag.disable()
      print(`${label} cold`, cold, await timeline(page))
      console.log(`  udp drops so far (/proc/net/udp): ${udpDrops()}`)
      if (label === 'peersite') console.log(`  bench process: event loop delay p50 ${Math.round(lag.percentile(50) / 1e6)} ms, p99 ${Math.round(lag.percentile(99) / 1e6)} ms, max ${Math.round(lag.max / 1e6)} ms; seeder sent per 100 ms (from goto, ~0-30 ms before the page's clock): ${sent.join(' ')}`)
      if (label === 'plain') console.log('  served: ' + plain.requests.slice(before).join(' '))
      // --settle: as bench/real-sites.mjs does, the warm visit only once the first one's download has settled (3 s
      // without a byte: the prefetch done).
      if (settle && label === 'peersite') {
        let last = -1
        let since = Date.now()
        for (const start = Date.now(); Date.now() - since < 3_000 && Date.now() - start < 60_000;) {
          const { downloaded } = await page.evaluate(() => window.peersite?.stats() ?? { downloaded: 0 })
          if (downloaded !== last) { last = downloaded; since = Date.now() }
          await new Promise((resolve) => setTimeout(resolve, 250))
        }
        console.log(`  settled: ${Math.round(last / 1024)} KiB downloaded`)
      }
      await page.close()
      const again = await context.newPage()
      if (chromeTrace) await browser.startTracing(again, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'blink.user_timing', 'loading', 'navigation', 'toplevel'] })
      await again.goto(url, { waitUntil: 'commit' })
      const warm = await timeUntilUsable(again, spec.usable)
      print(`${label} warm`, warm, await timeline(again))
      if (chromeTrace) {
        const file = join(tmpdir(), `peersite-trace-${name}-${label}-warm.json`)
        const buffer = await browser.stopTracing()
        await writeFile(file, buffer)
        printMainThread(JSON.parse(buffer.toString('utf8')), warm, file)
      }
      await context.close()
    }
  } finally {
    await plain.close()
    await site.close()
    await browser.close()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main()
  process.exit(0)
}
