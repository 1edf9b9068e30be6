#!/usr/bin/env node
/**
 * Real sites nobody here wrote, from npm packages, opened in Chromium through peersite (the bytes from a Node seeder
 * over WebRTC) and from the same folder on a plain local static server, in the same run:
 *   - swagger-ui-dist: a prebuilt single-page app (a 1.4 MB script bundle, source maps beside it; 12 MB folder);
 *   - monaco-editor (its min/ build): a code editor whose language services run in web workers (14 MB);
 *   - mathjax (its es5/ build): math typesetting with web fonts and extensions loaded on demand (24 MB).
 * The packages are fetched with `npm pack NAME@VERSION` into bench/.data/real-sites at run time (never committed);
 * a page that uses them (monaco, mathjax) or a local API description (swagger: its default points to the internet)
 * is written beside them.
 *
 * "Usable" is a condition on the page (the editor shows its text and the worker's diagnostics, every formula is
 * typeset with its fonts, the API's operations are listed), timed in the page from the navigation start. Cold:
 * a fresh profile; warm: a second visit in the same profile after the first tab closed (peersite: worker installed,
 * pieces stored; plain: the HTTP cache revalidates). Also the bytes a first peersite visit downloads with the
 * publish defaults (prefetch included, measured once the download has settled) next to the bytes the plain page
 * needed.
 *
 *   node bench/real-sites.mjs --fetch                                        (once, outside the namespace: npm pack)
 *   npm run build && sh scripts/in-netns.sh node bench/real-sites.mjs      (BENCH_REAL_RUNS=3 by default;
 *                                                                            BENCH_REAL_SITES=mathjax,... a subset)
 * BENCH_REAL_BASELINE_DIST=/repo/tmp/old-dist adds an older build's peersite, visited in the same rounds (A/B).
 * The page times "usable" itself (armUsable); BENCH_REAL_USABLE=waitForFunction polls with playwright as before
 * 2026-12-03 (fourth session), whose injected script weighed on the shell's start (see armUsable).
 * The Node seeder runs in a process of its own (bench/lib/process-seeder.mjs), as a publisher's does; before
 * 2026-12-03 (third session) it shared this process with playwright, the tracker and the static servers.
 * Exports run() -> { title, markdown } for bench/run-all.mjs.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, readdir, rm, stat, writeFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { assertInNetns, repoRoot, requireDist } from './lib/env.mjs'
import { launchChromium } from './lib/chromium.mjs'
import { startLocalSite } from './lib/local-site.mjs'
import { startProcessSeeder } from './lib/process-seeder.mjs'
import { dist } from './lib/swarm.mjs'
import { envNumber, fmt, markdownTable, median } from './lib/table.mjs'

const DATA = join(repoRoot, 'bench', '.data', 'real-sites')

const PETSTORE = {
  openapi: '3.0.3',
  info: { title: 'Bench Petstore', version: '1.0.0', description: 'A local API description for bench/real-sites.mjs.' },
  paths: Object.fromEntries(['pet', 'store', 'user'].map((tag) => [`/${tag}/{id}`, {
    get: { tags: [tag], summary: `Find a ${tag}`, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }], responses: { 200: { description: 'ok' } } },
    delete: { tags: [tag], summary: `Delete a ${tag}`, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }], responses: { 204: { description: 'deleted' } } }
  }]))
}

const MONACO_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Monaco</title>
<style>html,body,#editor{height:100%;margin:0}</style></head>
<body><div id="editor"></div>
<script src="min/vs/loader.js"></script>
<script>
// An absolute base: the workers resolve their scripts against it.
require.config({ paths: { vs: new URL('min/vs', location.href).href } })
require(['vs/editor/editor.main'], function () {
  const model = monaco.editor.createModel('{\\n  "answer": "forty-two",,\\n  "list": [1, 2, 3]\\n}\\n', 'json', monaco.Uri.parse('file:///data.json'))
  window.editor = monaco.editor.create(document.getElementById('editor'), { model })
})
</script></body></html>
`

const MATHJAX_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>MathJax</title>
<script>window.MathJax = { startup: { typeset: true } }</script>
<script id="MathJax-script" async src="es5/tex-chtml.js"></script></head>
<body><h1>Formulas</h1>
<p>\\(e^{i\\pi} + 1 = 0\\)</p>
<p>\\[\\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}\\]</p>
<p>\\[\\sum_{n=1}^\\infty \\frac{1}{n^2} = \\frac{\\pi^2}{6}\\]</p>
<p>On demand (the cancel and braket extensions): \\(\\cancel{x} + \\bra{\\psi}\\)</p>
</body></html>
`

/** Each site: the package, how to make a site folder of it, and when its first page is usable (run in the page). */
export const SITES = [
  {
    name: 'swagger-ui-dist',
    version: '5.32.0',
    what: 'single-page app, 1.4 MB bundle',
    prepare: async (pkg, site) => {
      await cp(pkg, site, { recursive: true })
      const init = join(site, 'swagger-initializer.js')
      const text = await readFile(init, 'utf8')
      await writeFile(init, text.replace('https://petstore.swagger.io/v2/swagger.json', './petstore.json'))
      await writeFile(join(site, 'petstore.json'), JSON.stringify(PETSTORE))
    },
    usable: `(w) => w.document.querySelector('.swagger-ui .info .title')?.textContent.includes('Bench Petstore') && w.document.querySelectorAll('.opblock').length >= 6`
  },
  {
    name: 'monaco-editor',
    version: '0.52.2',
    what: 'code editor, its JSON service in a web worker',
    prepare: async (pkg, site) => {
      await cp(join(pkg, 'min'), join(site, 'min'), { recursive: true })
      await writeFile(join(site, 'index.html'), MONACO_PAGE)
    },
    // The text is drawn and the JSON worker has reported the syntax error (a squiggle under it). (The TypeScript
    // worker would take 10+ s of CPU here, plain or not: that would measure this machine, not the delivery.)
    usable: `(w) => w.document.querySelector('.view-lines')?.textContent.includes('forty-two') && w.monaco?.editor.getModelMarkers({}).length > 0`
  },
  {
    name: 'mathjax',
    version: '3.2.2',
    what: 'math typesetting, web fonts, extensions on demand',
    prepare: async (pkg, site) => {
      await cp(join(pkg, 'es5'), join(site, 'es5'), { recursive: true })
      await writeFile(join(site, 'index.html'), MATHJAX_PAGE)
    },
    usable: `(w) => w.document.querySelectorAll('mjx-container').length === 4 && !w.document.body.textContent.includes('\\\\cancel') &&
      w.document.fonts.status === 'loaded' && [...w.document.fonts].some((f) => f.family.startsWith('MJXTEX') && f.status === 'loaded')`
  }
]

/** The site folder of one package, fetched and prepared once (bench/.data/real-sites/NAME-VERSION/site). */
export async function siteFolder ({ name, version, prepare }, log) {
  const base = join(DATA, `${name}-${version}`)
  const site = join(base, 'site')
  if (existsSync(join(base, 'ready'))) return site
  // The private network namespace has no way out: the packages are fetched before entering it (`npm run bench` runs
  // `node bench/real-sites.mjs --fetch` first), and a run inside it that finds one missing says how to fetch it.
  if (process.env.PEERSITE_NETNS === '1') {
    throw new Error(`bench/real-sites: ${name}@${version} is not fetched yet, and the network namespace cannot reach the npm registry: ` +
      'run `node bench/real-sites.mjs --fetch` outside it first (`npm run bench` does)')
  }
  await rm(base, { recursive: true, force: true })
  await mkdir(base, { recursive: true })
  log(`bench/real-sites: npm pack ${name}@${version}`)
  const tarball = execFileSync('npm', ['pack', `${name}@${version}`, '--silent', '--pack-destination', base], { encoding: 'utf8' }).trim().split('\n').pop()
  execFileSync('tar', ['xzf', join(base, tarball), '-C', base])
  await rm(join(base, tarball))
  await prepare(join(base, 'package'), site)
  await writeFile(join(base, 'ready'), '')
  return site
}

async function folderBytes (dir) {
  let total = 0
  let files = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    total += (await stat(join(entry.parentPath ?? entry.path, entry.name))).size
    files++
  }
  return { total, files }
}

/** Contexts whose pages time `usable` themselves (armUsable), each with the condition's source. */
const armed = new WeakMap()
/** A DevTools session per page (timeUntilUsable), attached once. */
const sessions = new WeakMap()

/**
 * Every page of `context` times `usable` itself: an init script of the top document (not of frames) checks the
 * condition every 20 ms from the document's start, in the site's document (the shell's frame, if any), and resolves
 * `window.__benchUsable` with performance.now() when it first holds. timeUntilUsable then reads it with one
 * Runtime.evaluate over a DevTools session of its own. Before (until 2026-12-03, fourth session), playwright's
 * waitForFunction did the polling: it first evaluates playwright's injected script in the page's main world, 47-125 ms
 * of the renderer's main thread on this machine (Chromium traces, bench/trace-visit.mjs --chrome-trace), as soon as the
 * navigation has committed. A plain page had usually sent its script's request by then (its download and streamed
 * compile went on meanwhile); the shell had not yet made the site's frame, whose every request waited for it. A
 * visitor's browser runs no such script.
 */
export async function armUsable (context, usable) {
  // BENCH_REAL_USABLE=waitForFunction: the earlier way, for a comparison.
  if (process.env.BENCH_REAL_USABLE === 'waitForFunction') return
  armed.set(context, usable)
  // Each page's session attached as the page opens, before its navigation.
  context.on('page', (page) => { sessions.set(page, context.newCDPSession(page)) })
  await context.addInitScript(`(() => {
  if (window.top !== window) return
  const usable = (0, eval)(${JSON.stringify(usable)})
  window.__benchUsable = new Promise((resolve) => {
    const check = () => {
      const frame = document.getElementById('peersite-frame')
      const w = frame !== null ? frame.contentWindow : window
      try {
        if (w !== null && w.document.readyState !== 'loading' && usable(w) === true) return resolve(performance.now())
      } catch {}
      setTimeout(check, 20)
    }
    check()
  })
})()`)
}

/** ms from the top-level navigation start until `usable` holds in the site's document (the shell's frame, if any). */
export async function timeUntilUsable (page, usable, timeout = 90_000) {
  if (armed.get(page.context()) === usable) {
    if (!sessions.has(page)) sessions.set(page, page.context().newCDPSession(page))
    const session = await sessions.get(page)
    let timer
    const expired = new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`not usable within ${timeout} ms`)), timeout) })
    try {
      const { result, exceptionDetails } = await Promise.race([expired, session.send('Runtime.evaluate', {
        // The init script ran when the document was created, before the navigation's commit that the caller awaited.
        expression: 'window.__benchUsable ?? Promise.reject(new Error("no usable timer in this document"))',
        awaitPromise: true,
        returnByValue: true
      })])
      if (exceptionDetails !== undefined || typeof result.value !== 'number') throw new Error(`usable: ${JSON.stringify(exceptionDetails ?? result)}`)
      return result.value
    } finally {
      clearTimeout(timer)
    }
  }
  // A page of a context not armed: playwright polls (its injected script runs in the page; see armUsable).
  const handle = await page.waitForFunction((src) => {
    const frame = document.getElementById('peersite-frame')
    const w = frame !== null ? frame.contentWindow : window
    try {
      // eslint-disable-next-line no-eval
      return w !== null && w.document.readyState !== 'loading' && (0, eval)(src)(w) === true ? performance.now() : false
    } catch {
      return false
    }
  }, usable, { timeout, polling: 20 })
  return await handle.jsonValue()
}

/** The loader's engine stats (leader page). */
async function engineStats (page) {
  return await page.evaluate(() => window.peersite?.stats() ?? { downloaded: 0 })
}

/** Waits until the engine has downloaded nothing more for `quietMs` (prefetch done or stopped), at most `maxMs`. */
async function settledDownload (page, quietMs = 3_000, maxMs = 60_000) {
  const start = Date.now()
  let last = -1
  let since = Date.now()
  for (;;) {
    const { downloaded } = await engineStats(page)
    if (downloaded !== last) { last = downloaded; since = Date.now() }
    if (Date.now() - since >= quietMs || Date.now() - start >= maxMs) return last
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** Bytes of the files a static server sent for `paths` (the plain page's needs). */
async function servedBytes (root, paths) {
  let total = 0
  for (const path of new Set(paths)) {
    const rel = path.endsWith('/') ? `${path.slice(1)}index.html` : path.slice(1)
    try { total += (await stat(join(root, rel))).size } catch { /* a 404 */ }
  }
  return total
}

export async function run ({ runs = envNumber('BENCH_REAL_RUNS', 3), log = (s) => process.stderr.write(s + '\n') } = {}) {
  assertInNetns()
  requireDist('bench/real-sites')
  const { startStaticServer } = await dist('cli/lib/static-server.js')
  const closers = []
  const results = []
  // An A/B comparison in one run: BENCH_REAL_BASELINE_DIST=/copy/of/an/older/dist (inside this repository) publishes
  // and serves each site a second time with that build, visited in the same rounds (order alternating), since
  // timings on a shared machine drift more between runs than between builds.
  const baselineDist = process.env.BENCH_REAL_BASELINE_DIST
  const variants = baselineDist === undefined || baselineDist === '' ? ['this build'] : ['this build', 'baseline build']
  const withDist = async (variant, fn) => {
    const saved = process.env.PEERSITE_BENCH_DIST
    if (variant === 'baseline build') process.env.PEERSITE_BENCH_DIST = baselineDist
    try { return await fn() } finally {
      if (saved === undefined) delete process.env.PEERSITE_BENCH_DIST
      else process.env.PEERSITE_BENCH_DIST = saved
    }
  }
  try {
    const { browser } = await launchChromium()
    closers.push(() => browser.close())
    const only = (process.env.BENCH_REAL_SITES ?? '').split(',').filter(Boolean)
    for (const spec of SITES.filter((s) => only.length === 0 || only.includes(s.name))) {
      const dir = await siteFolder(spec, log)
      const size = await folderBytes(dir)
      const sites = []
      const plain = await startStaticServer({ root: dir, host: '127.0.0.1' })
      const rows = { plainCold: [], plainWarm: [], plainBytes: [] }
      const peersite = Object.fromEntries(variants.map((v) => [v, { cold: [], warm: [], firstVisit: [], loaderBytes: [], prefetchLimit: undefined }]))
      try {
        for (const variant of variants) {
          // The seeder in a process of its own, as a publisher's is (on another machine): in this one it would share
          // an event loop with playwright, whose work grows with every response, and with the static server.
          const site = await withDist(variant, async () => await startLocalSite(dir, {
            label: spec.name,
            seed: async ({ out, root, trackerPort }) => await startProcessSeeder({
              siteDir: root, torrent: await readFile(join(out, 'site.torrent')), trackers: [`ws://127.0.0.1:${trackerPort}/seeder`]
            })
          }))
          sites.push(site)
          peersite[variant].site = site
          peersite[variant].prefetchLimit = site.result.manifest.prefetchLimit
        }
        for (let i = 0; i < runs; i++) {
          log(`bench/real-sites: ${spec.name} run ${i + 1}/${runs}`)
          {
            const context = await browser.newContext()
            await armUsable(context, spec.usable)
            const before = plain.requests.length
            const page = await context.newPage()
            await page.goto(plain.url, { waitUntil: 'commit' })
            rows.plainCold.push(await timeUntilUsable(page, spec.usable))
            rows.plainBytes.push(await servedBytes(dir, plain.requests.slice(before)))
            await page.close()
            const again = await context.newPage()
            await again.goto(plain.url, { waitUntil: 'commit' })
            rows.plainWarm.push(await timeUntilUsable(again, spec.usable))
            await context.close()
          }
          const order = i % 2 === 0 ? variants : [...variants].reverse()
          for (const variant of order) {
            const { site } = peersite[variant]
            const out = peersite[variant]
            const context = await browser.newContext()
            await armUsable(context, spec.usable)
            const before = site.server.requests.length
            const page = await context.newPage()
            await page.goto(site.url, { waitUntil: 'commit' })
            out.cold.push(await timeUntilUsable(page, spec.usable))
            out.loaderBytes.push(await servedBytes(site.out, site.server.requests.slice(before)))
            out.firstVisit.push(await settledDownload(page))
            await page.close()
            const again = await context.newPage()
            await again.goto(site.url, { waitUntil: 'commit' })
            out.warm.push(await timeUntilUsable(again, spec.usable))
            await context.close()
            log(`  ${variant}: cold ${Math.round(out.cold.at(-1))} ms, warm ${Math.round(out.warm.at(-1))} ms (plain ${Math.round(rows.plainCold.at(-1))} / ${Math.round(rows.plainWarm.at(-1))})`)
          }
        }
        results.push({ spec, size, rows, peersite })
      } finally {
        await plain.close()
        for (const site of sites) await site.close()
      }
    }
  } finally {
    for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => {})
  }

  const mb = (n) => `${fmt(n / 1024 / 1024, 2)} MB`
  const ms = (n) => `${fmt(n, 0)} ms`
  const label = (variant) => variants.length === 1 ? 'peersite' : `peersite (${variant})`
  const timing = markdownTable(
    ['site (npm package)', 'visit', 'plain HTTP', ...variants.flatMap((v) => [label(v), 'ratio'])],
    results.flatMap(({ spec, rows, peersite }) => [['cold', 'plainCold', 'cold'], ['warm', 'plainWarm', 'warm']].map(([visit, plainKey, key]) => {
      const base = median(rows[plainKey])
      return [`${spec.name}@${spec.version} (${spec.what})`, visit, ms(base),
        ...variants.flatMap((v) => { const t = median(peersite[v][key]); return [ms(t), `${fmt(t / base, 2)}x`] })]
    }))
  )
  const bytes = markdownTable(
    ['site', 'folder', 'plain first visit needs', ...variants.map((v) => `${label(v)}: first visit downloads from peers (prefetch limit)`), 'loader files (static host)'],
    results.map(({ spec, size, rows, peersite }) => [
      spec.name, `${mb(size.total)} (${size.files} files)`, mb(median(rows.plainBytes)),
      ...variants.map((v) => `${mb(median(peersite[v].firstVisit))} (${peersite[v].prefetchLimit === undefined ? 'default' : mb(peersite[v].prefetchLimit)})`),
      `${fmt(median(peersite[variants[0]].loaderBytes) / 1024, 1)} KB`
    ])
  )
  const title = `Real sites from npm packages: time until usable, peersite vs a plain static server (median of ${runs})`
  const markdown = [
    timing,
    '',
    'Time until usable: ms from the navigation start until the page is usable (editor text drawn and its worker\'s diagnostics in; every formula typeset with its fonts; the API\'s operations listed). Cold: fresh profile; warm: second visit in the same profile, first tab closed. Aim: cold at most 1.5x plain, warm at most 1.2x.' +
      (variants.length > 1 ? ' The baseline build (BENCH_REAL_BASELINE_DIST) is visited in the same rounds, alternating which goes first.' : ''),
    '',
    bytes,
    '',
    'Bytes: what the plain page fetched (its own files), and what the peersite visitor\'s engine downloaded from peers by the time the download settled (3 s without a byte), with the publish defaults of each build.',
    ''
  ].join('\n')
  return { title, markdown, results }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv.includes('--fetch')) {
  // Outside the namespace: fetch and prepare every site's package (once; later runs find them ready), nothing else.
  for (const site of SITES) await siteFolder(site, (s) => process.stderr.write(s + '\n'))
  process.exit(0)
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { title, markdown } = await run()
  process.stdout.write(`## ${title}\n\n${markdown}\n`)
  process.exit(0)
}
