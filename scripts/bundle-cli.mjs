#!/usr/bin/env node
/**
 * Inlines the command-line parser (yargs and its ~60 modules) into the built CLI's entry point, dist/cli/main.js, so
 * that every command starts without resolving, reading and compiling them one by one: Node's ES module loader spent
 * about 70 ms of CPU on `import 'yargs'` alone, on a machine where `node -e 0` costs 40 ms (README "Where publish time
 * goes"). Only npm packages are inlined: peersite's own modules stay as tsc wrote them (one copy of each, the same
 * error classes everywhere, and each command's implementation still loads only when it runs).
 *
 * `publish`'s implementation (dist/cli/run/publish.js, loaded when the command runs) is bundled the same way, with
 * peersite's own modules inlined as well: it is the one command whose run is short enough for start-up to matter
 * (README "Where publish time goes": its ~45 modules cost about 30 ms of CPU to resolve, read and compile one by
 * one). What the entry point itself loads (the commands' options, the error classes...) stays a separate file that
 * both import, so there is still one copy of each of those (one UsageError class for `instanceof`); so do the
 * modules publish imports only when it seeds or serves (dynamic imports: WebRTC, the DHT, the tracker bundle).
 *
 * Run after `tsc -b`: rewrites dist/cli/main.js and dist/cli/run/publish.js from their sources (so they are never
 * stale whatever tsc re-emitted). A `tsc -b` alone may put back the unbundled files: they work the same, only start
 * slower. The licences of what was inlined are written beside each (main.js.LICENSES.txt, publish.js.LICENSES.txt).
 * string-width (yargs' text measuring) is bundled with its Intl.Segmenter and emoji expression made on first use
 * (scripts/lib/string-width-lazy.mjs): building them as it loaded cost 25-30 ms of CPU at every start.
 *
 *   node scripts/bundle-cli.mjs
 */
import { build } from 'esbuild'
import { chmod, readFile, rm, stat } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeLicenceNotices } from './lib/licences.mjs'
import { stringWidthLazyPlugin } from './lib/string-width-lazy.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const source = join(root, 'cli', 'main.ts')
const out = join(root, 'dist', 'cli', 'main.js')

const common = {
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
  logLevel: 'warning'
}

const result = await build({
  ...common,
  entryPoints: [source],
  outfile: out,
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
  }, stringWidthLazyPlugin]
})
await chmod(out, 0o755)
await rm(`${out}.map`, { force: true }) // tsc's map of the file it wrote, not of this one

const inlined = await writeLicenceNotices(root, result.metafile, out)
const size = (await stat(out)).size
console.log(`cli -> ${relative(root, out)}: ${(size / 1024).toFixed(1)} KiB, ${inlined} packages inlined`)

// peersite's own modules that the entry point loads as it starts (its static imports, followed): found by bundling
// it again in memory with them inlined. The publish bundle imports these from dist/ rather than inlining them.
const startGraph = await build({
  ...common,
  entryPoints: [source],
  write: false,
  plugins: [{
    name: 'commands-external',
    setup (b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined)
    }
  }]
})
const atStart = new Set(Object.keys(startGraph.metafile.inputs).filter((p) => !p.includes('node_modules')).map((p) => resolve(root, p)))

for (const verb of ['publish']) {
  const entry = join(root, 'cli', 'run', `${verb}.ts`)
  const outfile = join(root, 'dist', 'cli', 'run', `${verb}.js`)
  const bundled = await build({
    ...common,
    entryPoints: [entry],
    outfile,
    plugins: [{
      name: 'shared-and-lazy-modules-external',
      setup (b) {
        b.onResolve({ filter: /^\.\.?\// }, async (args) => {
          if (args.pluginData === 'inner') return undefined // the look-up just below
          // Modules loaded only when publish seeds or serves stay apart; so do those the entry point has loaded.
          if (args.kind !== 'dynamic-import') {
            const found = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'inner' })
            if (found.errors.length > 0 || !atStart.has(found.path)) return undefined
          }
          // dist/ mirrors the sources: the same relative path from the bundle's place, with tsc's .js name.
          let path = relative(dirname(entry), resolve(args.resolveDir, args.path)).split(sep).join('/')
          if (!path.startsWith('.')) path = `./${path}`
          return { path, external: true }
        })
      }
    }]
  })
  await rm(`${outfile}.map`, { force: true })
  const packages = await writeLicenceNotices(root, bundled.metafile, outfile)
  const own = Object.keys(bundled.metafile.inputs).filter((p) => !p.includes('node_modules')).length
  console.log(`cli -> ${relative(root, outfile)}: ${((await stat(outfile)).size / 1024).toFixed(1)} KiB, ${own} own modules and ${packages} packages inlined`)
}
