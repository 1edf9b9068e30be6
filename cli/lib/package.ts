/** Where this package lives on disk (for the loader files it ships) and its version. */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LOADER_FILES as PROTOCOL_LOADER_FILES, MANIFEST_FILE, TORRENT_FILE, WEB_SEED_SCRIPT } from '../../worker/protocol.js'

let cached: { root: string, version: string } | undefined

/** The folder holding peersite's package.json: found by walking up from this module (works from cli/ and dist/cli/). */
export function packageInfo (): { root: string, version: string } {
  if (cached !== undefined) return cached
  let dir = dirname(fileURLToPath(import.meta.url))
  while (true) {
    const candidate = join(dir, 'package.json')
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'peersite') {
        cached = { root: dir, version: pkg.version ?? '0.0.0' }
        return cached
      }
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot find the peersite package root')
    dir = parent
  }
}

/** The loader files publish copies into every output folder, as built by `npm run build` (scripts/build-browser.mjs). */
export const LOADER_FILES = PROTOCOL_LOADER_FILES.filter((f) => f !== MANIFEST_FILE && f !== TORRENT_FILE && f !== WEB_SEED_SCRIPT)
/** Copied only into the output of a site with web seeds (`--web-seed`, `--with-files`): nobody else loads it. */
export const WEB_SEED_LOADER_FILE = WEB_SEED_SCRIPT

/** Default source of the loader files. PEERSITE_LOADER_DIR overrides it (tests and loader development). */
export function defaultLoaderDir (): string {
  const fromEnv = process.env.PEERSITE_LOADER_DIR
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  return join(packageInfo().root, 'dist', 'browser')
}
