#!/usr/bin/env node
/**
 * Which code of peersite.js a cold visit runs before its first site byte: examples/hello (or DIR) published with a
 * readable build of the plain loader script (the defines of peersite-plain.js, so the same code; esbuild's syntax
 * minification, which drops what the defines rule out, but no renaming), one local Node seeder, a fresh Chromium
 * profile; V8's precise coverage of the page is taken at the loader's
 * `peersite:first-chunk` mark (the first chunk of the site sent to the worker), a little after it. Prints, per
 * source module, the characters of the bundle that never ran by then, and with --functions the functions that
 * never ran (name and line in the readable bundle, written to /tmp/peersite-coverage.js). What never runs before
 * the first byte is what may move behind `later()` (loader/lazy.ts), unless it must be there before a hostile or
 * silent peer shows up (README "What a visitor downloads before the first site byte").
 *
 *   npm run build && sh scripts/in-netns.sh node bench/coverage.mjs [DIR] [--functions] [--at=paint]
 *
 * --at=paint takes the coverage once the frame has painted its page instead (the h1 of examples/hello).
 */
import { cp, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { bundleOptions, firstVisitBundle } from '../scripts/browser-bundles.mjs'
import { launchChromium } from './lib/chromium.mjs'
import { assertInNetns, repoRoot, requireDist } from './lib/env.mjs'
import { HOME_H1, SITE } from './lib/first-paint.mjs'
import { startLocalSite } from './lib/local-site.mjs'

// A tool, not a benchmark (no `run` export): bench/run-all.mjs imports every bench/*.mjs and skips this one, so
// nothing may run on import.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main()

async function main () {
  assertInNetns()
  requireDist('bench/coverage.mjs')
  const args = process.argv.slice(2)
  const dir = args.find((a) => !a.startsWith('--')) ?? SITE
  const listFunctions = args.includes('--functions')
  const atPaint = args.includes('--at=paint')

  // The loader files as built, with peersite-plain.js replaced by the same entry and defines, readable: publish pins
  // what it ships (sw.js checks it), and the bundle's `// path` comments name each module. peersite-later.js is built
  // the same way: the built one has the short property names (scripts/mangle.mjs) that this peersite.js lacks.
  const work = await mkdtemp(join(tmpdir(), 'peersite-coverage-'))
  const loaderDir = join(work, 'browser')
  await cp(join(repoRoot, 'dist', 'browser'), loaderDir, { recursive: true })
  // The rest of dist/ (the CLI's publish and seeder) as built.
  for (const name of await readdir(join(repoRoot, 'dist'))) {
    if (name !== 'browser') await symlink(join(repoRoot, 'dist', name), join(work, name))
  }
  const readable = async (entry) => (await build({ ...bundleOptions(firstVisitBundle(entry)), minifySyntax: true, write: false, logLevel: 'warning' })).outputFiles[0].text
  const source = await readable('loader/main.ts')
  await writeFile(join(loaderDir, 'peersite-plain.js'), source)
  await writeFile(join(loaderDir, 'peersite-later.js'), await readable('loader/later.ts'))
  process.env.PEERSITE_BENCH_DIST = work

  const site = await startLocalSite(dir, { label: 'coverage' })
  const { browser } = await launchChromium()
  try {
    const context = await browser.newContext()
    const page = await context.newPage()
    const cdp = await context.newCDPSession(page)
    await cdp.send('Profiler.enable')
    await cdp.send('Profiler.startPreciseCoverage', { callCount: false, detailed: true })
    await page.goto(site.url)
    if (atPaint) {
      await page.waitForFunction((h1) => (document.getElementById('peersite-frame'))?.contentDocument?.querySelector('h1')?.textContent === h1, HOME_H1, { timeout: 60_000, polling: 'raf' })
    } else {
      await page.waitForFunction(() => performance.getEntriesByName('peersite:first-chunk').length > 0, undefined, { timeout: 60_000, polling: 'raf' })
    }
    const { result: scripts } = await cdp.send('Profiler.takePreciseCoverage')
    const script = scripts.find((s) => s.url.endsWith('/peersite.js'))
    if (script === undefined) throw new Error('no coverage of peersite.js')

    // Each character's count: V8 lists a function's ranges outermost first, so later (inner) ranges overwrite.
    const count = new Uint8Array(source.length).fill(1)
    for (const fn of script.functions) {
      for (const r of fn.ranges) count.fill(r.count > 0 ? 1 : 0, r.startOffset, r.endOffset)
    }
    // Modules by esbuild's `// path` comment lines.
    const starts = []
    const re = /^\/\/ ((?:engine|loader|worker)\/[^\n]+\.ts)$/gm
    for (let m; (m = re.exec(source)) !== null;) starts.push({ path: m[1], offset: m.index })
    const moduleAt = (offset) => {
      let found = '(bundle)'
      for (const s of starts) { if (s.offset <= offset) found = s.path; else break }
      return found
    }
    const perModule = new Map()
    for (let i = 0; i < source.length; i++) {
      if (/\s/.test(source[i])) continue
      const m = moduleAt(i)
      const entry = perModule.get(m) ?? { ran: 0, not: 0 }
      if (count[i] === 0) entry.not++; else entry.ran++
      perModule.set(m, entry)
    }
    let ran = 0
    let not = 0
    console.log(`peersite.js (plain build, readable) at ${atPaint ? 'the first paint' : 'the first site chunk'}: characters not run / run, per module`)
    for (const [m, e] of [...perModule].sort((a, b) => b[1].not - a[1].not)) {
      ran += e.ran
      not += e.not
      console.log(`${String(e.not).padStart(7)} ${String(e.ran).padStart(7)}  ${m}`)
    }
    console.log(`${String(not).padStart(7)} ${String(ran).padStart(7)}  all (${Math.round(100 * not / (not + ran))}% not run)`)
    if (listFunctions) {
      const lineOf = (offset) => source.slice(0, offset).split('\n').length
      console.log('\nfunctions never called (characters, line in /tmp/peersite-coverage.js, module, name):')
      const rows = script.functions
        .filter((f) => f.ranges[0].count === 0 && f.ranges[0].endOffset - f.ranges[0].startOffset > 40)
        .map((f) => ({ size: f.ranges[0].endOffset - f.ranges[0].startOffset, line: lineOf(f.ranges[0].startOffset), module: moduleAt(f.ranges[0].startOffset), name: f.functionName || '(anonymous)' }))
        .sort((a, b) => a.module.localeCompare(b.module) || a.line - b.line)
      for (const r of rows) console.log(`${String(r.size).padStart(6)} ${String(r.line).padStart(6)}  ${r.module}  ${r.name}`)
      await writeFile('/tmp/peersite-coverage.js', source)
    }
  } finally {
    await browser.close()
    await site.close()
    await rm(work, { recursive: true, force: true })
  }
}
