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
import { join, relative } from 'node:path'
import { gzipSync } from 'node:zlib'
import { minify as terser } from 'terser'
import { BUNDLES, TARGET, bundleOptions, root } from './browser-bundles.mjs'
import { mangleOptions } from './mangle.mjs'

const outdir = join(root, 'dist', 'browser')
const args = new Set(process.argv.slice(2))
const minify = !args.has('--no-minify')
const sourcemap = args.has('--sourcemap')

// Internal property names, shortened alike in every bundle (scripts/mangle.mjs says which and why these).
const mangle = minify ? await mangleOptions() : {}

await mkdir(join(outdir, 'gateway'), { recursive: true })

// The bundles and their constants are listed in scripts/browser-bundles.mjs, which mangle.mjs reads too.
await Promise.all(BUNDLES.map((bundle) => build({
  ...bundleOptions(bundle),
  minify,
  sourcemap,
  legalComments: 'none',
  logLevel: 'warning',
  ...mangle,
  outfile: join(outdir, bundle[1])
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
    const js = (await transform(m[1], { minify: true, target: TARGET, legalComments: 'none' })).code.trim()
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
