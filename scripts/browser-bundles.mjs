/**
 * The browser bundles and the build constants that decide what goes into each: scripts/build-browser.mjs builds
 * them, and scripts/mangle.mjs asks esbuild which source files they hold (only those files' words choose the short
 * property names, so an edit to Node-only code leaves the browser bytes alone).
 */
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { errorCodesPlugin } from './error-codes.mjs'

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const TARGET = 'es2022'

/**
 * Every bundle: [entry, output, format, variant flags]. The loader's scripts are ES modules; the workers and
 * peersite-index.js are classic scripts (IIFEs): module service workers are not everywhere yet (Firefox < 147).
 */
export const BUNDLES = [
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

/**
 * What decides a bundle's contents: its entry, format and constants. Libraries written for Node check `global` and
 * `process.env.NODE_ENV`; in the browser they must be constants. PEERSITE_BROWSER: the engine's Node-only branches
 * (engine/torrent.ts) drop out. The variant flags are chosen at build time so that a site's first visit carries only
 * its own code (test/e2e/budget.test.ts): keyed (a site published with --key follows its newest version:
 * loader/follow.ts and worker/version.ts; publish --key ships them under the plain names), gateway (the generic
 * loader's worker, which takes the site from the host name: worker/gateway-source.ts) and plain (a site with no
 * `_redirects` rules, no --spa, no sectioned index and no web seeds, most sites: the rules' parser and matcher, the
 * index's hooks in the worker and the page, and the web seeds' loading are left out, 1.3 KB gzipped; publish ships
 * them under the plain names, and a keyed site never gets them, since a later version may need what they lack).
 */
export function bundleOptions ([entry, , format, { keyed = false, gateway = false, serveLater = false, plain = false }]) {
  return {
    absWorkingDir: root,
    // The engine's peer, tracker and connection errors carry codes instead of words (scripts/error-codes.mjs).
    plugins: [errorCodesPlugin()],
    entryPoints: [join(root, entry)],
    format,
    bundle: true,
    platform: 'browser',
    target: TARGET,
    define: {
      global: 'globalThis',
      'process.env.NODE_ENV': '"production"',
      PEERSITE_BROWSER: 'true',
      PEERSITE_KEYED: String(keyed),
      PEERSITE_GATEWAY_BUILD: String(gateway),
      PEERSITE_SERVE_LATER: String(serveLater),
      PEERSITE_PLAIN: String(plain)
    }
  }
}

/**
 * The bundle a first visit of an ordinary site loads from `entry` (what examples/hello is published with: the plain
 * variants; the gateway's own loader for loader/gateway.ts), for the tools that measure one entry (scripts/size.mjs,
 * test/e2e/budget.test.ts) with the build's own constants. Else the first bundle of that entry.
 */
export function firstVisitBundle (entry) {
  const preferred = { 'loader/main.ts': 'peersite-plain.js', 'worker/sw.ts': 'sw-plain.js', 'loader/gateway.ts': 'gateway/peersite.js' }[entry]
  const bundle = BUNDLES.find(([e, out]) => e === entry && (preferred === undefined || out === preferred))
  if (bundle === undefined) throw new Error(`no browser bundle is built from ${entry}`)
  return bundle
}
