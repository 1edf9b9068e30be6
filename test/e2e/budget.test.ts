/**
 * The loader's weight: everything a visitor downloads before the first byte of the site (index.html, peersite.js,
 * sw.js, peersite.json, site.torrent) is at most 40 KB gzipped, and the browser bundle holds only the engine core
 * and the lean WebSocket-tracker discovery: no bittorrent-tracker, simple-peer, webtorrent or Buffer polyfill.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { publishSite } from '../../cli/lib/publish.js'
import { makeTempDir } from '../helpers/tmp.js'
import { assertLoaderBuilt, loaderDir, repoRoot } from './harness.js'

const BUDGET_BYTES = 40 * 1000
const FORBIDDEN = /node_modules\/(bittorrent-tracker|simple-peer|@thaunknown\/simple-peer|webtorrent|buffer|readable-stream|events|debug)\//

const gz = (bytes: Uint8Array): number => gzipSync(bytes, { level: 9 }).length

describe('loader budget', () => {
  it('bundles only the engine core and the lean discovery', async () => {
    for (const entry of ['loader/main.ts', 'worker/sw.ts']) {
      const result = await build({
        entryPoints: [join(repoRoot, entry)],
        bundle: true,
        minify: true,
        write: false,
        metafile: true,
        format: entry.startsWith('loader') ? 'esm' : 'iife',
        platform: 'browser',
        target: 'es2022',
        logLevel: 'silent',
        define: { global: 'globalThis', 'process.env.NODE_ENV': '"production"' }
      })
      const inputs = Object.keys(result.metafile.inputs)
      expect(inputs.filter((p) => FORBIDDEN.test(p)), entry).toEqual([])
    }
  })

  it('everything before the first site byte is at most 40 KB gzipped', async () => {
    assertLoaderBuilt()
    const tmp = await makeTempDir('peersite-budget-')
    try {
      const out = join(tmp.path, 'out')
      await publishSite({ dir: join(repoRoot, 'examples', 'hello'), out, trackers: ['ws://127.0.0.1:8000'], loaderDir })
      const sizes: Record<string, number> = {}
      for (const file of ['index.html', 'peersite.js', 'sw.js', 'peersite.json', 'site.torrent']) {
        sizes[file] = gz(await readFile(join(out, file)))
      }
      const total = Object.values(sizes).reduce((a, b) => a + b, 0)
      console.log(`loader budget: ${JSON.stringify(sizes)} total ${total} B gzipped (budget ${BUDGET_BYTES})`)
      expect(total).toBeLessThanOrEqual(BUDGET_BYTES)
    } finally {
      await tmp.cleanup()
    }
  })
})
