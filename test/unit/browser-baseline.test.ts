/**
 * The browser bundles target ES2022 (scripts/build-browser.mjs), and esbuild lowers syntax but never adds a missing
 * method: a later built-in called in a bundle breaks every browser older than it. The ETag's
 * `String.prototype.toWellFormed` (ES2024) once did: every file response of the worker threw in Firefox before 119
 * and Chromium before 111. Needs the build (`npm run build`).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const dir = join(import.meta.dirname, '..', '..', 'dist', 'browser')

/** ES2023 and later methods, with the first Chromium / Firefox / Safari versions that have them. */
const LATER = [
  'findLast', 'findLastIndex', 'toSorted', 'toReversed', 'toSpliced', // ES2023: Chromium 97-110, Firefox 104-115
  'toWellFormed', 'isWellFormed', 'withResolvers', 'groupBy', 'fromAsync', 'transferToFixedLength' // ES2024 and later
]

describe('the browser bundles call no built-in newer than ES2022', () => {
  const bundles = readdirSync(dir).filter((f) => f.endsWith('.js'))
  it('finds the bundles', () => {
    expect(bundles).toEqual(expect.arrayContaining(['peersite.js', 'peersite-later.js', 'sw.js', 'sw-plain.js']))
  })
  for (const name of bundles) {
    it(name, () => {
      const code = readFileSync(join(dir, name), 'utf8')
      expect(LATER.filter((m) => new RegExp(`\\.${m}\\b`).test(code))).toEqual([])
    })
  }
})
