/**
 * `peersite publish` as a library: validate everything, hash the folder into a torrent, then write the output folder
 * (site.torrent, peersite.json, the loader files) in one step: it is assembled in a temporary sibling and renamed into
 * place, so a failure at any point leaves no partial output behind.
 */
import { chmod, copyFile, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import mime from 'mime'
import { toMagnetURI } from 'parse-torrent'
import { UsageError } from '../../engine/errors.js'
import type { Metainfo } from '../../engine/metainfo/index.js'
import { defaultLoaderDir, LOADER_FILES, packageInfo } from './package.js'
import { choosePieceLength } from './piece-length.js'
import { DEFAULT_PREFETCH_LIMIT } from './prefetch.js'
import { scanSubresources } from './subresources.js'
import { buildTorrent } from './torrent.js'
import { isInside, walkSite, type SiteListing } from './walk.js'
import { realpathOrNearest } from './paths.js'
import { MANIFEST_FILE, RESERVED_ROOT_FILES, TORRENT_FILE, type SiteManifest } from '../../worker/protocol.js'

// The manifest and torrent names, and the names the loader keeps for itself, are the worker's (one protocol).
export { MANIFEST_FILE, RESERVED_ROOT_FILES, TORRENT_FILE } from '../../worker/protocol.js'
export const OUT_SUFFIX = '-peersite'

export interface PublishInit {
  /** The site folder. */
  dir: string
  /** Output folder; default `<dir>-peersite` beside the site folder. */
  out?: string
  /** Validated WebSocket tracker URLs (the torrent's announce list), possibly empty. */
  trackers: readonly string[]
  /** Default: choosePieceLength(total size). */
  pieceLength?: number
  /** Bytes a visitor prefetches after the first page (peersite.json `prefetchLimit`); default DEFAULT_PREFETCH_LIMIT. */
  prefetchLimit?: number
  /** Where the built loader files are; default dist/browser of this package. */
  loaderDir?: string
  onProgress?: (hashed: number, total: number) => void
}

export interface PublishPlan {
  readonly site: SiteListing
  readonly name: string
  readonly out: string
  readonly trackers: readonly string[]
  readonly pieceLength: number
  readonly prefetchLimit: number
  readonly loaderDir: string
  /** The output folder exists (a previous publish, or empty) and will be replaced. */
  readonly replaces: boolean
}

export type ManifestFile = SiteManifest['files'][number]

/** peersite.json (worker/protocol.ts), which publish always writes with its prefetch limit. */
export type Manifest = SiteManifest & { readonly prefetchLimit: number }

export interface PublishResult {
  readonly plan: PublishPlan
  readonly infoHash: string
  readonly magnetURI: string
  readonly metainfo: Metainfo
  readonly manifest: Manifest
  readonly out: string
}

/** Checks every input without writing anything. Throws UsageError naming the first problem. */
export async function planPublish (init: PublishInit): Promise<PublishPlan> {
  const site = await walkSite(init.dir)
  const name = basename(resolve(init.dir))
  if (name === '' || name === '.' || name === '..') throw new UsageError(`cannot publish ${init.dir}: the folder needs a name`)
  // The loader's own files sit at the root of the output beside the site: a site file of the same name would
  // hide it (or be hidden). index.html and 404.html are fine: the loader serves the site's own.
  const clash = site.files.find((f) => RESERVED_ROOT_FILES.includes(f.path))
  if (clash !== undefined) throw new UsageError(`${clash.path} at the top of ${init.dir} is a name the loader needs: rename or move it`)
  const out = resolve(init.out ?? `${resolve(init.dir)}${OUT_SUFFIX}`)
  const realOut = await realpathOrNearest(out)
  if (isInside(site.root, realOut)) throw new UsageError(`output folder ${init.out ?? out} is inside the input folder ${init.dir}`)
  if (isInside(realOut, site.root)) throw new UsageError(`input folder ${init.dir} is inside the output folder ${init.out ?? out}`)
  const replaces = await checkReplaceable(out, init.out ?? out)
  const loaderDir = resolve(init.loaderDir ?? defaultLoaderDir())
  await checkLoader(loaderDir)
  const pieceLength = init.pieceLength ?? choosePieceLength(site.length)
  const prefetchLimit = init.prefetchLimit ?? DEFAULT_PREFETCH_LIMIT
  if (!Number.isSafeInteger(prefetchLimit) || prefetchLimit < 0) throw new UsageError(`invalid prefetch limit ${prefetchLimit}`)
  return { site, name, out, trackers: [...init.trackers], pieceLength, prefetchLimit, loaderDir, replaces }
}

/** An existing output folder is only replaced if it is empty or a previous peersite output. */
async function checkReplaceable (out: string, label: string): Promise<boolean> {
  let info
  try {
    info = await stat(out)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw new UsageError(`cannot use output folder ${label}: ${(err as Error).message}`)
  }
  if (!info.isDirectory()) throw new UsageError(`output ${label} exists and is not a folder`)
  const entries = await readdir(out)
  if (entries.length === 0 || entries.includes(MANIFEST_FILE)) return true
  throw new UsageError(`output folder ${label} exists and is not a peersite output (no ${MANIFEST_FILE}): remove it or choose another --out`)
}

async function checkLoader (loaderDir: string): Promise<void> {
  const missing: string[] = []
  for (const file of LOADER_FILES) {
    try {
      if (!(await stat(join(loaderDir, file))).isFile()) missing.push(file)
    } catch {
      missing.push(file)
    }
  }
  if (missing.length > 0) {
    throw new UsageError(`the loader files are not built (${missing.join(', ')} missing in ${loaderDir}): run \`npm run build\` first`)
  }
}

/** Hashes the site and writes the output folder atomically. */
export async function executePublish (plan: PublishPlan, onProgress?: (hashed: number, total: number) => void): Promise<PublishResult> {
  const { metainfo, torrent } = await buildTorrent(plan.site, {
    name: plan.name,
    pieceLength: plan.pieceLength,
    trackers: plan.trackers,
    createdBy: `peersite ${packageInfo().version}`,
    ...(onProgress !== undefined ? { onProgress } : {})
  })
  const magnetURI = toMagnetURI({ infoHash: metainfo.infoHash, name: plan.name, announce: [...plan.trackers] })
  let manifest: Manifest = {
    version: 1,
    infoHash: metainfo.infoHash,
    magnetURI,
    name: plan.name,
    trackers: [...plan.trackers],
    pieceLength: metainfo.pieceLength,
    length: metainfo.length,
    prefetchLimit: plan.prefetchLimit,
    files: metainfo.files.map((f) => ({ path: f.path, length: f.length, type: mime.getType(f.path) ?? 'application/octet-stream' }))
  }
  // Indexes of the manifest's (the torrent's) file order.
  const byPath = new Map(plan.site.files.map((f) => [f.path, f]))
  const ordered = metainfo.files.map((f) => byPath.get(f.path))
  const preload = ordered.every((f) => f !== undefined) ? await scanSubresources(ordered) : { groups: [], pages: [] }
  if (preload.pages.length > 0) manifest = { ...manifest, preload }

  await mkdir(dirname(plan.out), { recursive: true })
  const staging = await mkdtemp(join(dirname(plan.out), `.${basename(plan.out)}.tmp-`))
  try {
    await chmod(staging, 0o755) // mkdtemp makes it private; an output folder is meant to be served
    await writeFile(join(staging, TORRENT_FILE), torrent)
    await writeFile(join(staging, MANIFEST_FILE), manifestJson(manifest))
    for (const file of LOADER_FILES) await copyFile(join(plan.loaderDir, file), join(staging, file))
    if (plan.replaces) {
      // Two renames: the old output stays whole until the new one is complete.
      const old = `${staging}-old`
      await rename(plan.out, old)
      await rename(staging, plan.out)
      await rm(old, { recursive: true, force: true })
    } else {
      await rename(staging, plan.out)
    }
  } catch (err) {
    await rm(staging, { recursive: true, force: true })
    throw err
  }
  return { plan, infoHash: metainfo.infoHash, magnetURI, metainfo, manifest, out: plan.out }
}

/** peersite.json's text: indented, but the preload table on one line (indented, its numbers would take a line each). */
export function manifestJson (manifest: Manifest): string {
  const { preload, ...rest } = manifest
  const text = JSON.stringify(rest, null, 2)
  if (preload === undefined) return text + '\n'
  return `${text.slice(0, -2)},\n  "preload": ${JSON.stringify(preload)}\n}\n`
}

export async function publishSite (init: PublishInit): Promise<PublishResult> {
  return await executePublish(await planPublish(init), init.onProgress)
}
