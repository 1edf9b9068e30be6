/**
 * The generic loader as files: what `peersite gateway` serves to every `<id>.<host>` and `peersite loader --out`
 * writes for a wildcard static host. One loader for every site: index.html (also 404.html) with the gateway's
 * trackers built in, the gateway build of peersite.js, and the per-site loader's sw.js, told on its first line that
 * its host name names its site (worker/protocol.ts gatewayScript) and pinned to this index.html and peersite.js.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { UsageError } from '../../engine/errors.js'
import { PIN_HEX, pinsScript } from '../../worker/protocol.js'
import { defaultLoaderDir } from './package.js'

export const GENERIC_LOADER_FILES = ['index.html', '404.html', 'sw.js', 'peersite.js', 'peersite-later.js'] as const
export type GenericLoaderFile = typeof GENERIC_LOADER_FILES[number]

export interface GenericLoaderInit {
  /** The gateway's trackers: every site is looked up there (plus a pasted magnet's own). */
  trackers: readonly string[]
  /** `--ice-servers` as parsed (undefined: the loader's default). */
  rtcConfig?: RTCConfiguration | undefined
  /** The built browser files (default: this package's dist/browser). */
  loaderDir?: string
}

const pin = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex').slice(0, PIN_HEX)

export async function buildGenericLoader (init: GenericLoaderInit): Promise<ReadonlyMap<GenericLoaderFile, Buffer>> {
  const dir = init.loaderDir ?? defaultLoaderDir()
  let html: string, script: Buffer, worker: string, later: Buffer
  try {
    [html, script, worker, later] = await Promise.all([
      readFile(join(dir, 'gateway', 'index.html'), 'utf8'),
      readFile(join(dir, 'gateway', 'peersite.js')),
      readFile(join(dir, 'gateway', 'sw.js'), 'utf8'),
      // The loader's second bundle (loader/later.ts) is the same for both loaders: it shares no module with either.
      readFile(join(dir, 'peersite-later.js'))
    ])
  } catch {
    throw new UsageError(`the gateway loader is not built (${join(dir, 'gateway')}): run \`npm run build\` first`)
  }
  const config = { trackers: [...init.trackers], ...(init.rtcConfig?.iceServers !== undefined ? { iceServers: init.rtcConfig.iceServers } : {}) }
  // `<` escaped: no tracker URL can close the script element.
  const json = JSON.stringify(config).replace(/</g, '\\u003c')
  // Given as a function: a replacement string would read "$&", "$'" or "$`" in a tracker URL as patterns.
  const index = Buffer.from(html.replace('</head>', () => `<script type="application/json" id="peersite-gateway">${json}</script></head>`))
  const sw = Buffer.from(pinsScript({ 'index.html': pin(index), 'peersite.js': pin(script), 'peersite-later.js': pin(later) }) + worker)
  return new Map<GenericLoaderFile, Buffer>([['index.html', index], ['404.html', index], ['sw.js', sw], ['peersite.js', script], ['peersite-later.js', later]])
}
