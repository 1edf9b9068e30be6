#!/usr/bin/env node
/**
 * Which piece layout publish should use, measured: for each BEP 47 padding policy (cli/lib/layout.ts) and piece
 * length, what an update of a site costs a returning visitor (pieces of the new version it already holds, found by
 * their hash; bytes it must download) and what padding costs (bytes of zeros in the torrent, pieces, the info
 * dictionary every visitor fetches first).
 *
 * Two generated sites, the same every run (a seeded generator; nothing fetched):
 *   - "site": 116 files, about 14 MB, shaped like a real site (pages 3-40 KB, stylesheets, scripts up to a 1.8 MB
 *     bundle, images 15-700 KB, fonts);
 *   - "docs": 2,000 pages of 250 B-4 KB (the many-small-files case).
 * Updates: one page edited, ten text files (pages, stylesheets, scripts) edited, one page added; an edit inserts
 * 200-2,000 bytes in the middle of a file, so its size changes (as edits do).
 * Bytes to fetch count what a peersite visitor downloads: the new pieces without their padding (it never asks for
 * pad bytes); a client without BEP 47 also downloads the zeros.
 *
 *   npm run build && node bench/layout.mjs
 * Exports run() -> { title, markdown } for bench/run-all.mjs.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { repoRoot, requireDist } from './lib/env.mjs'
import { markdownTable } from './lib/table.mjs'

const KiB = 1024
const POLICIES = ['none', 'all', 'crossing', 'anchored']
const PIECE_LENGTHS = [16 * KiB, 32 * KiB, 64 * KiB]

/** xorshift32: the same sites on every run. */
function generator (seed) {
  let x = seed >>> 0 || 1
  const next = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 0x100000000 }
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    /** Log-uniform between lo and hi: many small, few big, as file sizes are. */
    size: (lo, hi) => Math.round(Math.exp(Math.log(lo) + next() * (Math.log(hi) - Math.log(lo)))),
    bytes: (n) => { const b = Buffer.allocUnsafe(n); for (let i = 0; i < n; i++) b[i] = (next() * 256) | 0; return b }
  }
}

function realSite () {
  const g = generator(116)
  const files = new Map()
  const add = (path, n) => files.set(path, g.bytes(n))
  for (let i = 0; i < 50; i++) add(`${i < 10 ? '' : `blog/${2015 + (i % 9)}/`}page-${String(i).padStart(2, '0')}.html`, g.size(3 * KiB, 40 * KiB))
  for (let i = 0; i < 8; i++) add(`css/style-${i}.css`, g.size(2 * KiB, 60 * KiB))
  for (let i = 0; i < 13; i++) add(`js/module-${i}.js`, g.size(5 * KiB, 600 * KiB))
  add('js/bundle.js', 1800 * KiB)
  for (let i = 0; i < 36; i++) add(`img/photo-${String(i).padStart(2, '0')}.${['jpg', 'png', 'webp'][i % 3]}`, g.size(20 * KiB, 1200 * KiB))
  for (let i = 0; i < 4; i++) add(`fonts/font-${i}.woff2`, g.size(20 * KiB, 120 * KiB))
  add('favicon.ico', 15 * KiB)
  add('robots.txt', 120)
  add('sitemap.xml', 9 * KiB)
  add('feed.xml', 60 * KiB)
  return files
}

function docsSite () {
  const g = generator(2000)
  const files = new Map()
  for (let i = 0; i < 2000; i++) files.set(`docs/section-${String(Math.floor(i / 100)).padStart(2, '0')}/page-${i}.html`, g.bytes(g.size(250, 4 * KiB)))
  files.set('index.html', g.bytes(3 * KiB))
  files.set('style.css', g.bytes(12 * KiB))
  return files
}

/** The updates: new file maps (the old one untouched) and the bytes of the files that changed. */
function updates (files, seed) {
  const g = generator(seed)
  const text = [...files.keys()].filter((p) => /\.(html|css|js)$/.test(p)).sort()
  const edit = (map, path) => {
    const old = map.get(path)
    const at = g.int(0, old.length)
    map.set(path, Buffer.concat([old.subarray(0, at), g.bytes(g.int(200, 2000)), old.subarray(at)]))
    return map.get(path).length
  }
  const pick = (n) => {
    const pool = [...text]
    const out = []
    while (out.length < n) out.push(pool.splice(g.int(0, pool.length - 1), 1)[0])
    return out
  }
  const one = new Map(files)
  const oneChanged = edit(one, pick(1)[0])
  const ten = new Map(files)
  const tenChanged = pick(10).reduce((n, p) => n + edit(ten, p), 0)
  const added = new Map(files)
  const newPage = text.find((p) => p.endsWith('.html')).replace(/[^/]*$/, 'new-page.html')
  added.set(newPage, g.bytes(8 * KiB))
  return [
    { name: '1 page edited', files: one, changed: oneChanged },
    { name: '10 files edited', files: ten, changed: tenChanged },
    { name: '1 page added', files: added, changed: 8 * KiB }
  ]
}

async function writeSite (dir, files) {
  await rm(dir, { recursive: true, force: true })
  for (const [path, bytes] of files) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), bytes)
  }
}

export async function run ({ log = (s) => process.stderr.write(s + '\n') } = {}) {
  requireDist('bench/layout')
  const lib = (name) => import(pathToFileURL(join(repoRoot, 'dist', 'cli', 'lib', name)).href)
  const { buildTorrent } = await lib('torrent.js')
  const { walkSite } = await lib('walk.js')
  const { pieceDataLength } = await import(pathToFileURL(join(repoRoot, 'dist', 'engine', 'metainfo', 'index.js')).href)
  const work = await mkdtemp(join(tmpdir(), 'peersite-bench-layout-'))
  const build = async (dir, pieceLength, padPolicy) =>
    (await buildTorrent(await walkSite(dir), { name: 'site', pieceLength, trackers: [], padPolicy })).metainfo
  const hashesOf = (m) => new Set(Array.from({ length: m.pieceCount }, (_, i) => Buffer.from(m.pieceHashes.subarray(i * 20, i * 20 + 20)).toString('hex')))
  const sections = []
  try {
    for (const [label, files, seed] of [['site', realSite(), 7], ['docs', docsSite(), 8]]) {
      const siteBytes = [...files.values()].reduce((n, b) => n + b.length, 0)
      log(`bench/layout: ${label}, ${files.size} files, ${(siteBytes / 1e6).toFixed(1)} MB`)
      const base = join(work, `${label}-v1`)
      await writeSite(base, files)
      const versions = updates(files, seed)
      for (const [i, u] of versions.entries()) await writeSite(join(work, `${label}-v2-${i}`), u.files)
      const rows = []
      for (const pieceLength of PIECE_LENGTHS) {
        for (const policy of POLICIES) {
          const v1 = await build(base, pieceLength, policy)
          const old = hashesOf(v1)
          const padding = v1.length - siteBytes
          const row = [`${pieceLength / KiB} KiB`, policy, `${(100 * padding / siteBytes).toFixed(1)}%`, String(v1.pieceCount), `${(v1.info.length / 1000).toFixed(1)} kB`]
          for (const [i, u] of versions.entries()) {
            const v2 = await build(join(work, `${label}-v2-${i}`), pieceLength, policy)
            let kept = 0
            let fetch = 0
            for (let p = 0; p < v2.pieceCount; p++) {
              if (old.has(Buffer.from(v2.pieceHashes.subarray(p * 20, p * 20 + 20)).toString('hex'))) kept++
              else fetch += pieceDataLength(v2, p)
            }
            row.push(`${(100 * kept / v2.pieceCount).toFixed(1)}%`, `${(fetch / 1000).toFixed(0)} kB (${(fetch / u.changed).toFixed(1)}x)`)
          }
          rows.push(row)
        }
      }
      const headers = ['piece', 'padding', 'zeros', 'pieces', 'info dict', ...versions.flatMap((u) => [`kept, ${u.name}`, 'to fetch (x changed bytes)'])]
      sections.push(`#### ${label}: ${files.size} files, ${(siteBytes / 1e6).toFixed(1)} MB\n\n` + markdownTable(headers, rows, headers.map((_, i) => (i < 2 ? 'l' : 'r'))))
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  const title = 'piece layout: what an update costs a returning visitor, and what padding costs'
  const markdown = [`### ${title}`, '', ...sections.flatMap((s) => [s, '']),
    'kept: pieces of the new version whose hash the old version has (a returning visitor or seeder holds them). ' +
    'to fetch: bytes of the other pieces without padding, and that as a multiple of the changed files\' bytes. ' +
    'zeros: BEP 47 padding as a share of the site\'s bytes.', ''].join('\n')
  return { title, markdown }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { markdown } = await run()
  process.stdout.write(markdown + '\n')
}
