#!/usr/bin/env node
/**
 * What each source module costs a visitor, gzipped: bundles an entry the way scripts/build-browser.mjs does
 * (minified), then for every module removes the output bytes that came from it (found through the source map) and
 * gzips again; the difference is that module's share of the gzipped file. Shares do not add up exactly to the total
 * (gzip finds repeats across modules), but they rank what to move out of the first visit. Measured on esbuild's
 * output: build-browser's terser pass takes about 4% more off.
 *
 *   npm run size                       peersite.js, peersite-later.js and sw.js
 *   npm run size -- worker/sw.ts 30    one entry, its 30 largest modules
 */
import { build } from 'esbuild'
import { resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import { bundleOptions, firstVisitBundle, root } from './browser-bundles.mjs'
import { mangleOptions } from './mangle.mjs'

// Each entry is measured with the build's own constants for the bundle a first visit loads (firstVisitBundle): the
// site's own loader as a plain site's (no `_redirects`, --spa or sectioned index: peersite-plain.js, sw-plain.js, what
// examples/hello gets), bringing the serving side later.
const gz = (bytes) => gzipSync(bytes, { level: 9 }).length
const B64 = Object.fromEntries([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]))

/** Source map "mappings": for each output line, the [column, source index] segments (VLQ, relative values). */
function segments (mappings) {
  const lines = []
  let source = 0
  for (const line of mappings.split(';')) {
    const out = []
    let column = 0
    for (const seg of line.split(',')) {
      if (seg === '') continue
      const values = []
      let value = 0
      let shift = 0
      for (const c of seg) {
        const digit = B64[c]
        value += (digit & 31) << shift
        if ((digit & 32) !== 0) { shift += 5; continue }
        values.push((value & 1) !== 0 ? -(value >>> 1) : value >>> 1)
        value = 0
        shift = 0
      }
      column += values[0]
      if (values.length > 1) source += values[1]
      out.push([column, values.length > 1 ? source : -1])
    }
    lines.push(out)
  }
  return lines
}

const mangle = await mangleOptions()

async function measure (entry, format) {
  const result = await build({
    entryPoints: [resolve(root, entry)],
    bundle: true,
    minify: true,
    write: false,
    sourcemap: 'external',
    outfile: resolve(root, 'dist', 'size.js'),
    format,
    platform: 'browser',
    target: 'es2022',
    legalComments: 'none',
    logLevel: 'warning',
    ...mangle,
    define: bundleOptions(firstVisitBundle(entry)).define,
    // The error messages that the build turns into codes (scripts/error-codes.mjs).
    plugins: bundleOptions(firstVisitBundle(entry)).plugins
  })
  const js = result.outputFiles.find((f) => f.path.endsWith('.js')).text
  const map = JSON.parse(result.outputFiles.find((f) => f.path.endsWith('.map')).text)
  // The source of every output character (an unmapped stretch belongs to the segment before it).
  const owner = new Int32Array(js.length).fill(-1)
  const lines = js.split('\n')
  const segs = segments(map.mappings)
  let offset = 0
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l]
    const s = segs[l] ?? []
    for (let i = 0; i < s.length; i++) {
      const end = i + 1 < s.length ? s[i + 1][0] : line.length
      owner.fill(s[i][1], offset + s[i][0], offset + end)
    }
    offset += line.length + 1
  }
  const total = gz(Buffer.from(js))
  const rows = map.sources.map((source, index) => {
    let kept = ''
    let raw = 0
    for (let i = 0; i < js.length; i++) {
      if (owner[i] === index) raw++
      else kept += js[i]
    }
    return { module: source.replace(/^(\.\.\/)+/, ''), raw, gz: total - gz(Buffer.from(kept)) }
  })
  return { total, raw: js.length, rows: rows.sort((a, b) => b.gz - a.gz) }
}

const [entryArg, topArg] = process.argv.slice(2)
const entries = entryArg !== undefined
  ? [[entryArg, entryArg.startsWith('worker/') ? 'iife' : 'esm']]
  : [['loader/main.ts', 'esm'], ['loader/later.ts', 'esm'], ['worker/sw.ts', 'iife']]
const top = Number(topArg ?? 25)
for (const [entry, format] of entries) {
  const { total, raw, rows } = await measure(entry, format)
  console.log(`${entry}: ${raw} B minified, ${total} B gzipped; each module's share (gzipped B, minified B):`)
  for (const r of rows.slice(0, top)) console.log(`  ${String(r.gz).padStart(6)} ${String(r.raw).padStart(7)}  ${r.module}`)
  if (rows.length > top) console.log(`  ... ${rows.length - top} more, ${rows.slice(top).reduce((s, r) => s + r.gz, 0)} B gzipped together`)
}
