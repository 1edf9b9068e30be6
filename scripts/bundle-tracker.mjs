#!/usr/bin/env node
/**
 * Bundles bittorrent-tracker's *server* into the built CLI, so that the published package does not depend on
 * bittorrent-tracker (a devDependency): its package also holds a client whose dependency chain
 * (@thaunknown/simple-peer -> webrtc-polyfill -> node-datachannel 0.32) downloads a native binary at install time,
 * which fails where only the npm registry is reachable. The server needs none of that.
 *
 * Run after `tsc -b`: rewrites dist/cli/lib/tracker-server.js (tsc's output of cli/lib/tracker-server.ts) into one
 * file with bittorrent-tracker's server and its small dependencies inlined. Kept external: Node's built-ins, `ws`
 * (a dependency of peersite itself, so one copy) and the file's own relative imports (peersite's error classes
 * must stay the same classes). Tests run the TypeScript source, which imports bittorrent-tracker directly.
 * The licences of what was inlined are written beside it (tracker-server.js.LICENSES.txt).
 *
 *   node scripts/bundle-tracker.mjs
 */
import { build } from 'esbuild'
import { readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const entry = join(root, 'dist', 'cli', 'lib', 'tracker-server.js')
const MARK = '// peersite: bittorrent-tracker server bundled by scripts/bundle-tracker.mjs'

const source = await readFile(entry, 'utf8').catch(() => {
  throw new Error(`${relative(root, entry)} is missing: run tsc -b first`)
})
if (source.startsWith(MARK)) {
  // tsc -b did not re-emit it (source unchanged): already bundled.
  console.log(`tracker server -> ${relative(root, entry)}: bundled already`)
  process.exit(0)
}

const result = await build({
  entryPoints: [entry],
  outfile: entry,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: false,
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
  external: ['ws', 'bufferutil', 'utf-8-validate'],
  // debug (a CommonJS dependency of the server) calls require('tty'); an ES module has no require of its own.
  banner: { js: `${MARK}\nimport { createRequire as __peersiteCreateRequire } from 'node:module';\nconst require = __peersiteCreateRequire(import.meta.url);` },
  plugins: [{
    name: 'own-relative-imports-external',
    setup (b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => args.importer === entry ? { path: args.path, external: true } : undefined)
    }
  }]
})

// One licence notice per inlined package (they are all MIT/ISC-style: the notice must travel with the code).
const packages = new Map()
for (const input of Object.keys(result.metafile.inputs)) {
  const abs = resolve(root, input)
  const at = abs.lastIndexOf(`${sep}node_modules${sep}`)
  if (at < 0) continue
  const parts = abs.slice(at + 14).split(sep)
  const dir = abs.slice(0, at + 14) + parts.slice(0, parts[0].startsWith('@') ? 2 : 1).join(sep)
  if (!packages.has(dir)) packages.set(dir, JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')))
}
const notices = []
for (const [dir, pkg] of [...packages].sort((a, b) => a[1].name.localeCompare(b[1].name))) {
  const licenceFile = (await readdir(dir)).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f))
  const text = licenceFile !== undefined && (await stat(join(dir, licenceFile))).isFile()
    ? await readFile(join(dir, licenceFile), 'utf8')
    : `${pkg.license ?? 'see the package'} (no licence file in the package)`
  notices.push(`${pkg.name}@${pkg.version} (${pkg.license ?? '?'})\n\n${text.trim()}\n`)
}
await writeFile(`${entry}.LICENSES.txt`, `Third-party code inlined into tracker-server.js:\n\n${notices.join('\n' + '-'.repeat(72) + '\n\n')}`)
const size = (await stat(entry)).size
console.log(`tracker server -> ${relative(root, entry)}: ${(size / 1024).toFixed(1)} KiB, ${packages.size} packages inlined`)
