#!/usr/bin/env node
/**
 * Bundles the browser side of peersite with esbuild:
 *   loader/main.ts   -> dist/browser/peersite.js  (ES module, loaded by index.html)
 *   loader/later.ts  -> dist/browser/peersite-later.js (ES module, imported by peersite.js when needed: what no
 *                       first site byte waits for; a bundle of its own, sharing no module with peersite.js)
 *   worker/sw.ts     -> dist/browser/sw.js        (classic service worker script: an IIFE)
 *   loader/webseed.ts -> dist/browser/peersite-webseed.js (ES module, imported only by sites with web seeds)
 *   loader/main.ts, worker/sw.ts -> peersite-keyed.js, sw-keyed.js (PEERSITE_KEYED: what publish --key ships as
 *                     peersite.js and sw.js), loader/follow.ts -> peersite-follow.js (loaded by keyed sites)
 *   loader/main.ts, worker/sw.ts -> peersite-plain.js, sw-plain.js (PEERSITE_PLAIN: what publish ships as peersite.js
 *                     and sw.js for a site without `_redirects` rules, --spa, a sectioned index or web seeds)
 *   loader/index.html -> dist/browser/index.html and dist/browser/404.html
 *   loader/gateway.ts -> dist/browser/gateway/peersite.js, loader/gateway.html -> dist/browser/gateway/index.html:
 *   worker/sw.ts      -> dist/browser/gateway/sw.js (PEERSITE_GATEWAY_BUILD: the site named by the host name)
 *     the generic loader of `peersite gateway` and `peersite loader`, from the per-site loader's sources
 * and prints each output's size, raw and gzipped. Minified bundles get a second pass with terser (tersePass). Every
 * URL inside is relative, so the output works when served from any sub-path.
 *
 *   node scripts/build-browser.mjs [--no-minify] [--sourcemap]
 */
import { build, transform } from 'esbuild'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { minify as terser } from 'terser'
import { mangleOptions } from './mangle.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const outdir = join(root, 'dist', 'browser')
const args = new Set(process.argv.slice(2))
const minify = !args.has('--no-minify')
const sourcemap = args.has('--sourcemap')

const common = {
  bundle: true,
  minify,
  sourcemap,
  target: 'es2022',
  platform: 'browser',
  legalComments: 'none',
  logLevel: 'warning',
  // Internal property names, shortened alike in every bundle (scripts/mangle.mjs says which and why these).
  ...(minify ? mangleOptions() : {}),
  // Libraries written for Node check these; in the browser they must be constants. PEERSITE_BROWSER: the engine's
  // Node-only branches (engine/torrent.ts) drop out.
  define: { global: 'globalThis', 'process.env.NODE_ENV': '"production"', PEERSITE_BROWSER: 'true' }
}

/**
 * Variants of the loader script and the worker, chosen at build time so that a site's first visit carries only its
 * own code (test/e2e/budget.test.ts): keyed (a site published with --key follows its newest version: loader/follow.ts
 * and worker/version.ts; publish --key ships them under the plain names), gateway (the generic loader's worker,
 * which takes the site from the host name: worker/gateway-source.ts) and plain (a site with no `_redirects` rules, no
 * --spa, no sectioned index and no web seeds, most sites: the rules' parser and matcher, the index's hooks in the
 * worker and the page, and the web seeds' loading are left out, 1.3 KB gzipped; publish ships them under the plain names, and a keyed site never gets
 * them, since a later version may need what they lack).
 */
const variant = ({ keyed = false, gateway = false, serveLater = false, plain = false } = {}) => ({
  ...common,
  define: {
    ...common.define,
    PEERSITE_KEYED: String(keyed),
    PEERSITE_GATEWAY_BUILD: String(gateway),
    PEERSITE_SERVE_LATER: String(serveLater),
    PEERSITE_PLAIN: String(plain)
  }
})

await mkdir(join(outdir, 'gateway'), { recursive: true })

/**
 * Every bundle: [entry, output, format, variant flags]. The loader's scripts are ES modules; the workers and
 * peersite-index.js are classic scripts (IIFEs): module service workers are not everywhere yet (Firefox < 147).
 */
const BUNDLES = [
  ['loader/main.ts', 'peersite.js', 'esm', { serveLater: true }],
  ['loader/main.ts', 'peersite-plain.js', 'esm', { serveLater: true, plain: true }],
  ['worker/sw.ts', 'sw-plain.js', 'iife', { plain: true }],
  ['loader/main.ts', 'peersite-keyed.js', 'esm', { keyed: true, serveLater: true }],
  ['worker/sw.ts', 'sw-keyed.js', 'iife', { keyed: true }],
  // A keyed site's version following, loaded by peersite.js after the first paint (loader/follow.ts).
  ['loader/follow.ts', 'peersite-follow.js', 'esm', { keyed: true }],
  // Loaded by the leader page only for sites with web seeds (BEP 19): not part of other sites' first visit.
  ['loader/webseed.ts', 'peersite-webseed.js', 'esm', {}],
  // The loader's second bundle (loader/later.ts): what no first site byte waits for, loaded on demand (loader/lazy.ts).
  ['loader/later.ts', 'peersite-later.js', 'esm', {}],
  ['loader/gateway.ts', 'gateway/peersite.js', 'esm', { gateway: true }],
  ['worker/sw.ts', 'sw.js', 'iife', {}],
  // The sectioned-index code (issue 16), loaded only by sites published with an index: sw.js imports it with
  // importScripts, the loader page with import() (a classic script is valid module code), so the small sites'
  // loader does not carry it.
  ['worker/index-script.ts', 'peersite-index.js', 'iife', {}],
  ['worker/sw.ts', 'gateway/sw.js', 'iife', { gateway: true }]
]

await Promise.all(BUNDLES.map(([entry, out, format, flags]) => build({
  ...variant(flags),
  entryPoints: [join(root, entry)],
  outfile: join(outdir, out),
  format
})))

await tersePass()

/**
 * A second minifier pass over the bundles with terser (a devDependency): its compressor and its frequency-ordered
 * renaming take about 4% more off each gzipped bundle than esbuild alone (peersite.js -1.2 KB, sw.js -0.46 KB).
 * Property names are left alone (scripts/mangle.mjs already shortened the internal ones, alike in every bundle);
 * export names stay (peersite-later.js is read through its exports). Skipped with --sourcemap (the maps are esbuild's).
 */
async function tersePass () {
  if (!minify || sourcemap) return
  await Promise.all(BUNDLES.map(async ([, name, format]) => {
    const file = join(outdir, name)
    const code = await readFile(file, 'utf8')
    // ES modules (the loader's scripts) may rename their top level; the classic scripts (sw.js, peersite-index.js) are IIFEs.
    const module = format === 'esm'
    const out = await terser(code, { module, ecma: 2022, compress: { passes: 2 }, mangle: true, format: { ecma: 2022 } })
    await writeFile(file, out.code + '\n')
  }))
}

const html = await minifyHtml(await readFile(join(root, 'loader', 'index.html'), 'utf8'))
await writeFile(join(outdir, 'index.html'), html)
// GitHub Pages and most static hosts serve 404.html for unknown paths: the loader boots from any deep link.
await writeFile(join(outdir, '404.html'), html)
await writeFile(join(outdir, 'gateway', 'index.html'), await minifyHtml(await readFile(join(root, 'loader', 'gateway.html'), 'utf8')))

/**
 * index.html is part of every first visit's weight: its inline script is minified like the bundles, and the
 * whitespace between tags and the HTML comments go. Text inside elements is left as written.
 */
async function minifyHtml (source) {
  if (!minify) return source
  let out = ''
  let last = 0
  for (const m of source.matchAll(/<script>([\s\S]*?)<\/script>/g)) {
    const js = (await transform(m[1], { minify: true, target: common.target, legalComments: 'none' })).code.trim()
    out += source.slice(last, m.index) + `<script>${js}</script>`
    last = m.index + m[0].length
  }
  out += source.slice(last)
  return out.replace(/<!--[\s\S]*?-->/g, '').replace(/>\s+</g, '><').trim() + '\n'
}

const rows = []
for (const name of [...BUNDLES.map(([, out]) => out).sort((a, b) => a.includes('/') - b.includes('/')), 'index.html', '404.html', 'gateway/index.html']) {
  const bytes = await readFile(join(outdir, name))
  rows.push([name, bytes.length, gzipSync(bytes, { level: 9 }).length])
}
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`.padStart(10)
console.log(`browser bundle -> ${relative(process.cwd(), outdir) || '.'}${minify ? '' : ' (not minified)'}`)
for (const [name, raw, gz] of rows) console.log(`  ${name.padEnd(20)} ${kb(raw)} raw ${kb(gz)} gzip`)
const js = rows.filter(([n]) => n.endsWith('.js') && !n.startsWith('gateway/'))
console.log(`  ${'js total'.padEnd(20)} ${kb(js.reduce((s, r) => s + r[1], 0))} raw ${kb(js.reduce((s, r) => s + r[2], 0))} gzip`)
