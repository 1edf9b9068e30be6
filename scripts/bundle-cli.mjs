#!/usr/bin/env node
/**
 * Bundles the CLI's start-up path so that a command starts without Node's ES module loader resolving, reading and
 * compiling dozens of files one by one (README "Where publish time goes"):
 *   - dist/cli/main.js, the entry point: cli/main.ts with yargs and its ~60 modules and peersite's own modules that
 *     the entry point imports (each command's options, the error formatting...) inlined. `import 'yargs'` alone cost
 *     about 70 ms of CPU as separate files, on a machine where `node -e 0` costs 40 ms; the ~20 own modules 5-10 ms.
 *   - dist/cli/run/publish.js, publish's implementation (loaded when the command runs): its ~45 own modules, mime and
 *     magnet-uri inlined (about 30 ms of CPU as separate files). Publish is the one command whose run is short enough
 *     for start-up to matter; the other commands' implementations stay as tsc writes them.
 * Two things stay separate files in both: engine/errors.js, so that there is one copy of the error classes (one
 * UsageError for `instanceof`, whichever file threw it), and every dynamic import (each command's implementation, and
 * the modules publish loads only when it seeds or serves: WebRTC, the DHT, the tracker bundle). The modules both
 * bundles inline hold no state that matters (option lists, constants, text formatting), so their two copies agree.
 *
 * string-width (yargs' text measuring) is bundled with its Intl.Segmenter and emoji expression made on first use
 * (scripts/lib/string-width-lazy.mjs): building them as it loaded cost 25-30 ms of CPU at every start.
 *
 * Run after `tsc -b`: rewrites those files from their sources (so they are never stale whatever tsc re-emitted). A
 * `tsc -b` alone may put back the unbundled files: they work the same, only start slower. The licences of what was
 * inlined are written beside each (main.js.LICENSES.txt, publish.js.LICENSES.txt).
 *
 *   node scripts/bundle-cli.mjs
 */
import { build } from 'esbuild'
import { chmod, readFile, rm, stat } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeLicenceNotices } from './lib/licences.mjs'
import { NODE_BUNDLE } from './lib/node-bundle.mjs'
import { stringWidthLazyPlugin } from './lib/string-width-lazy.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
/** The one module of peersite's own that every bundle imports rather than inlines. */
const SHARED = join(root, 'engine', 'errors.ts')

const yargsLocales = {
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
}

const yargsVersionGuess = {
  name: 'yargs-version-guess',
  setup (b) {
    // yargs() calls .version() with no version as it makes the parser, which guesses one: it looks for a package.json
    // from the current directory up (yargs' ES module shim takes process.cwd() when its own path holds no
    // node_modules, as in this bundle) and reads the first it finds, or, finding none, fails an assertion whose
    // AssertionError formats its message before being caught: 3-6 ms of every start, for a version the CLI replaces
    // at once with its own (cli/main.ts `.version(packageInfo().version)`). The option is still registered there,
    // in the same place, with no guessed version.
    b.onLoad({ filter: /[\\/]yargs[\\/]build[\\/]lib[\\/]yargs-factory\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8')
      const from = '        yargs.help();\n        yargs.version();\n        return yargs;'
      if (!text.includes(from)) throw new Error(`bundle-cli: ${args.path} no longer calls yargs.version() as it did: check how yargs sets its version`)
      return { contents: text.replace(from, "        yargs.help();\n        yargs.version('version', undefined, undefined);\n        return yargs;"), loader: 'js' }
    })
  }
}

/** Leaves SHARED and dynamic imports of own modules to dist/, which mirrors the sources (tsc's .js names). */
function sharedAndLazyExternal (entry) {
  return {
    name: 'shared-and-lazy-external',
    setup (b) {
      b.onResolve({ filter: /^\.\.?\// }, async (args) => {
        if (args.pluginData === 'inner') return undefined // the look-up just below
        if (args.kind !== 'dynamic-import') {
          const found = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'inner' })
          if (found.errors.length > 0 || found.path !== SHARED) return undefined
        }
        // The same relative path from the bundle's place in dist/ as from the entry point's in the sources.
        let path = relative(dirname(entry), resolve(args.resolveDir, args.path)).split(sep).join('/')
        if (!path.startsWith('.')) path = `./${path}`
        return { path, external: true }
      })
    }
  }
}

for (const [source, out] of [['cli/main.ts', 'dist/cli/main.js'], ['cli/run/publish.ts', 'dist/cli/run/publish.js']]) {
  const entry = join(root, source)
  const outfile = join(root, out)
  const result = await build({
    entryPoints: [entry],
    outfile,
    ...NODE_BUNDLE,
    // Less text for V8 to pre-parse at every start; names are kept for readable stack traces.
    minifyWhitespace: true,
    minifySyntax: true,
    // cli/main.ts keeps its shebang (esbuild keeps a hashbang at the top of the entry point).
    plugins: [sharedAndLazyExternal(entry), yargsLocales, yargsVersionGuess, stringWidthLazyPlugin]
  })
  if (out === 'dist/cli/main.js') await chmod(outfile, 0o755)
  await rm(`${outfile}.map`, { force: true }) // tsc's map of the file it wrote, not of this one
  const packages = await writeLicenceNotices(root, result.metafile, outfile)
  const own = Object.keys(result.metafile.inputs).filter((p) => !p.includes('node_modules')).length
  console.log(`cli -> ${out}: ${((await stat(outfile)).size / 1024).toFixed(1)} KiB, ${own} own modules and ${packages} packages inlined`)
}
