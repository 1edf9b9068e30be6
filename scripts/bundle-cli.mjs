#!/usr/bin/env node
/**
 * Inlines the command-line parser (yargs and its ~60 modules) into the built CLI's entry point, dist/cli/main.js, so
 * that every command starts without resolving, reading and compiling them one by one: Node's ES module loader spent
 * about 70 ms of CPU on `import 'yargs'` alone, on a machine where `node -e 0` costs 40 ms (README "Where publish time
 * goes"). Only npm packages are inlined: peersite's own modules stay as tsc wrote them (one copy of each, the same
 * error classes everywhere, and each command's implementation still loads only when it runs).
 *
 * Run after `tsc -b`: rewrites dist/cli/main.js from cli/main.ts (the source, so it is never stale whatever tsc
 * re-emitted). A `tsc -b` alone may put back the unbundled main.js: it works the same, only starts slower.
 * The licences of what was inlined are written beside it (main.js.LICENSES.txt).
 *
 *   node scripts/bundle-cli.mjs
 */
import { build } from 'esbuild'
import { chmod, readFile, rm, stat } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeLicenceNotices } from './lib/licences.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const source = join(root, 'cli', 'main.ts')
const out = join(root, 'dist', 'cli', 'main.js')

const result = await build({
  entryPoints: [source],
  outfile: out,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: false,
  // Less text for V8 to pre-parse at every start; names are kept for readable stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
  // cli/main.ts keeps its shebang (esbuild keeps a hashbang at the top of the entry point).
  plugins: [{
    name: 'own-modules-external',
    setup (b) {
      // peersite's own modules (relative imports of the entry point) stay separate files: dist/cli/main.js sits where
      // cli/main.ts does relative to them, so their paths are kept as written.
      b.onResolve({ filter: /^\.\.?\// }, (args) => args.importer === source ? { path: args.path, external: true } : undefined)
    }
  }, {
    name: 'yargs-locales',
    setup (b) {
      // yargs finds its message translations relative to its own module file, which inside the bundle would be a
      // folder beside peersite's package. The CLI asks for English (cli/main.ts `.locale('en')`), whose messages
      // are built in: point the lookup at a folder of the package that holds no translations.
      b.onLoad({ filter: /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8')
        const from = "resolve(__dirname, '../../../locales')"
        if (!text.includes(from)) throw new Error(`bundle-cli: ${args.path} no longer has ${from}: check how yargs finds its locales`)
        return { contents: text.replace(from, "resolve(__dirname, '../no-yargs-locales')"), loader: 'js' }
      })
    }
  }]
})
await chmod(out, 0o755)
await rm(`${out}.map`, { force: true }) // tsc's map of the file it wrote, not of this one

const inlined = await writeLicenceNotices(root, result.metafile, out)
const size = (await stat(out)).size
console.log(`cli -> ${relative(root, out)}: ${(size / 1024).toFixed(1)} KiB, ${inlined} packages inlined`)
