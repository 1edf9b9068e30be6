#!/usr/bin/env node
/**
 * Bundles the browser side of peersite with esbuild:
 *   loader/main.ts   -> dist/browser/peersite.js  (ES module, loaded by index.html)
 *   loader/later.ts  -> dist/browser/peersite-later.js (ES module, imported by peersite.js when needed: what no
 *                       first site byte waits for; a bundle of its own, sharing no module with peersite.js)
 *   worker/sw.ts     -> dist/browser/sw.js        (classic service worker script: an IIFE)
 *   loader/index.html -> dist/browser/index.html and dist/browser/404.html
 * and prints each output's size, raw and gzipped. Every URL inside is relative, so the output works when
 * served from any sub-path.
 *
 *   node scripts/build-browser.mjs [--no-minify] [--sourcemap]
 */
import { build, transform } from 'esbuild'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

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
  // Libraries written for Node check these; in the browser they must be constants.
  define: { global: 'globalThis', 'process.env.NODE_ENV': '"production"' }
}

await mkdir(outdir, { recursive: true })

await Promise.all([
  build({
    ...common,
    entryPoints: [join(root, 'loader', 'main.ts')],
    outfile: join(outdir, 'peersite.js'),
    format: 'esm'
  }),
  build({
    ...common,
    entryPoints: [join(root, 'loader', 'later.ts')],
    outfile: join(outdir, 'peersite-later.js'),
    format: 'esm'
  }),
  build({
    ...common,
    entryPoints: [join(root, 'worker', 'sw.ts')],
    outfile: join(outdir, 'sw.js'),
    // Module service workers are not everywhere yet (Firefox < 147): a classic script works in all.
    format: 'iife'
  })
])

const html = await minifyHtml(await readFile(join(root, 'loader', 'index.html'), 'utf8'))
await writeFile(join(outdir, 'index.html'), html)
// GitHub Pages and most static hosts serve 404.html for unknown paths: the loader boots from any deep link.
await writeFile(join(outdir, '404.html'), html)

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
for (const name of ['peersite.js', 'peersite-later.js', 'sw.js', 'index.html', '404.html']) {
  const bytes = await readFile(join(outdir, name))
  rows.push([name, bytes.length, gzipSync(bytes, { level: 9 }).length])
}
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`.padStart(10)
console.log(`browser bundle -> ${relative(process.cwd(), outdir) || '.'}${minify ? '' : ' (not minified)'}`)
for (const [name, raw, gz] of rows) console.log(`  ${name.padEnd(17)} ${kb(raw)} raw ${kb(gz)} gzip`)
const js = rows.filter(([n]) => n.endsWith('.js'))
console.log(`  ${'js total'.padEnd(17)} ${kb(js.reduce((s, r) => s + r[1], 0))} raw ${kb(js.reduce((s, r) => s + r[2], 0))} gzip`)
