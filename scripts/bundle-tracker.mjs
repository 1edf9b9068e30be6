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
import { readFile, stat } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeLicenceNotices } from './lib/licences.mjs'
import { NODE_BUNDLE } from './lib/node-bundle.mjs'

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
  ...NODE_BUNDLE,
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

const inlined = await writeLicenceNotices(root, result.metafile, entry)
const size = (await stat(entry)).size
console.log(`tracker server -> ${relative(root, entry)}: ${(size / 1024).toFixed(1)} KiB, ${inlined} packages inlined`)
