/**
 * `peersite publish` as a library: validate everything, hash the folder into a torrent, then write the output folder
 * (site.torrent, peersite.json, the loader files) in one step: it is assembled in a temporary sibling and renamed into
 * place, so a failure at any point leaves no partial output behind.
 */
import { isWebSocketTracker } from './trackers.js'
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { copyFile, lstat, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { encode as toMagnetURI } from 'magnet-uri'
import { ArgumentError, UsageError } from '../../engine/errors.js'
import type { Metainfo } from '../../engine/metainfo/index.js'
import { fileNameProblem, isAscii, platformRules, type NameRules } from '../../engine/metainfo/names.js'
import { POINTER_MAX_SEQ } from '../../engine/constants.js'
import { btpkMagnet, pointerFromJson, pointerId, pointerToJson, signPointer, type PointerRecordJson, type VerifiedPointer } from '../../engine/pointer/index.js'
import { equalBytes } from '../../engine/util/bytes.js'
import { defaultLoaderDir, LOADER_FILES, packageInfo, WEB_SEED_LOADER_FILE } from './package.js'
import { choosePieceLength } from './piece-length.js'
import { contentTypeOf } from './content-type.js'
import { DEFAULT_PAD_POLICY, type PadPolicy } from './layout.js'
import { DEFAULT_PREFETCH_LIMIT } from './prefetch.js'
import { scanSubresources, SubresourceRefs } from './subresources.js'
import { finishSiteIndex, planSiteIndex, wantsIndex, type BuiltSection, type SiteIndexPlan } from './site-index.js'
import { buildTorrent, parseTorrentBytes } from './torrent.js'
import { isInside, walkSite, type SiteListing } from './walk.js'
import { keptAsideWarning, makeFolders, makeStagingFolder, OutputReplacement, realpathOrNearest, sweepLeftovers, undoReplaceOnSignal } from './paths.js'
import { addedFiles, checkAddedFiles, copyAddedFiles, type EarlierOutput } from './output-folder.js'
import { describeSystemError, systemReason } from './system-errors.js'
import { loadOrCreateSiteKey, type SiteKey } from './site-key.js'
import { PointerStateFile } from './pointer-state.js'
import { FOLLOW_SCRIPT, INDEX_SCRIPT, LOADER_FILES as PROTOCOL_LOADER_FILES, MANIFEST_FILE, PIN_HEX, PINNED_FILES, pinsScript, RESERVED_ROOT_FILES, TORRENT_FILE, type SiteManifest } from '../../worker/protocol.js'
import { INDEX_DIR } from '../../worker/site-index.js'
import { MAX_REDIRECTS_BYTES, parseRedirects, REDIRECTS_FILE, type ParsedRedirects, type RedirectRule } from '../../worker/redirects.js'

const WORKER_FILE = 'sw.js'

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
  /** Where files start in the torrent (BEP 47 padding, cli/lib/layout.ts); default DEFAULT_PAD_POLICY. */
  padPolicy?: PadPolicy
  /** Bytes a visitor prefetches after the first page (peersite.json `prefetchLimit`); default DEFAULT_PREFETCH_LIMIT. */
  prefetchLimit?: number
  /** Where the built loader files are; default dist/browser of this package. */
  loaderDir?: string
  /** A single-page app: unknown paths get the root index.html with 200 (peersite.json `spa`). */
  spa?: boolean
  /** The site key file (`--key`): read, or created when absent; the output then carries a signed pointer record. */
  keyFile?: string
  /** BEP 19 web seeds (`--web-seed`): site.torrent's `url-list`, the magnet's `ws`, peersite.json's `webSeeds`. */
  webSeeds?: readonly string[]
  /** `--with-files`: copy the site's files into the output under `<name>/`, so the loader's host is a web seed too. */
  withFiles?: boolean
  /** The clock that seeds `seq` (ms since 1970); default Date.now. */
  now?: () => number
  /** Where the highest seq per key is remembered (pointer-state.ts); default defaultStateDir(). */
  stateDir?: string
  onProgress?: (hashed: number, total: number) => void
  /**
   * Write a sectioned index (cli/lib/site-index.ts) instead of the file table in peersite.json: true or false
   * forces it; default from INDEX_MIN_FILES files on.
   */
  index?: boolean
  /** Threads that list and hash the files (cli/lib/hash-pool.ts); default from the folder's size. 0: none. */
  threads?: number
}

export interface PublishPlan {
  readonly site: SiteListing
  readonly name: string
  readonly out: string
  readonly trackers: readonly string[]
  readonly pieceLength: number
  readonly padPolicy: PadPolicy
  readonly prefetchLimit: number
  readonly loaderDir: string
  /** `_redirects` rules (peersite.json `redirects`); the file's bad lines are in `warnings`. */
  readonly redirects: readonly RedirectRule[]
  readonly spa: boolean
  readonly webSeeds: readonly string[]
  readonly withFiles: boolean
  /** One line each, for the publisher (entries that are not files, bad `_redirects` lines: left out, as Netlify does). */
  readonly warnings: readonly string[]
  /** The output folder exists (a previous publish, or empty) and will be replaced. */
  readonly replaces: boolean
  /** What the publish being replaced wrote into the output folder (anything else there is carried over). */
  readonly earlier?: EarlierOutput
  /** The site key, when publishing with --key. */
  readonly key?: SiteKey
  /** The highest seq already used for this key that the plan found (the output folder being replaced, the state
   * file); -1 if none. */
  readonly previousSeq: number
  readonly now: () => number
  readonly state: PointerStateFile
  /** A sectioned index instead of the file table in peersite.json (PublishInit `index`). */
  readonly index: boolean
  /** PublishInit `threads`. */
  readonly threads?: number
}

export type ManifestFile = SiteManifest['files'][number]

/**
 * peersite.json (worker/protocol.ts), which publish always writes with its prefetch limit. A keyed site's also names
 * its permanent `address` (the BEP 46 btpk magnet) and carries the signed `pointer` record of this version: readers
 * treat it as untrusted and check it like a record from any peer (engine/pointer).
 */
export type Manifest = SiteManifest & { readonly prefetchLimit: number, readonly address?: string, readonly pointer?: PointerRecordJson }

export interface PublishResult {
  readonly plan: PublishPlan
  readonly infoHash: string
  readonly magnetURI: string
  readonly metainfo: Metainfo
  readonly manifest: Manifest
  readonly out: string
  /** With --key: the signed record of this version. */
  readonly pointer?: VerifiedPointer
  /** With --key: the permanent address, `magnet:?xs=urn:btpk:<public key hex>`. */
  readonly address?: string
  /** Files the user added to the output folder since the earlier publish, copied into this one ('/'-separated). */
  readonly kept: readonly string[]
}

/**
 * Checks every input without writing anything (but for what a killed publish left beside the output: sweepStaging).
 * Throws UsageError naming the first problem.
 */
export async function planPublish (init: PublishInit): Promise<PublishPlan> {
  const site = await walkSite(init.dir, init.threads !== undefined ? { threads: init.threads } : {})
  try {
    return await checkPublish(init, site)
  } catch (err) {
    await site.threads?.close() // the threads a big folder started, now not needed
    throw err
  }
}

async function checkPublish (init: PublishInit, site: SiteListing): Promise<PublishPlan> {
  const name = basename(resolve(init.dir))
  if (name === '' || name === '.' || name === '..') throw new UsageError(`cannot publish ${init.dir}: the folder needs a name`)
  // The loader's own files sit at the root of the output beside the site: a site file of the same name would
  // hide it (or be hidden). index.html and 404.html are fine: the loader serves the site's own.
  const clash = site.files.find((f) => RESERVED_ROOT_FILES.includes(f.path))
  if (clash !== undefined) {
    // Most often a site's own service worker (an app's offline worker): renaming it would not make it run, since the
    // loader's worker holds the folder's scope, so the line says so rather than leave the user to find out.
    const own = clash.path === 'sw.js' ? ' (a site\'s own service worker cannot run under peersite: the loader\'s worker holds the folder)' : ''
    throw new UsageError(`${clash.path} at the top of ${init.dir} is a name the loader needs: rename or move it${own}`)
  }
  const webSeeds = [...new Set(init.webSeeds ?? [])]
  for (const url of webSeeds) checkWebSeedUrl(url)
  const out = resolve(init.out ?? `${resolve(init.dir)}${OUT_SUFFIX}`)
  const realOut = await realpathOrNearest(out)
  if (isInside(site.root, realOut)) throw new UsageError(`output folder ${init.out ?? out} is inside the input folder ${init.dir}`)
  if (isInside(realOut, site.root)) throw new UsageError(`input folder ${init.dir} is inside the output folder ${init.out ?? out}`)
  // What a killed publish left beside the output goes first: its old output, moved aside, is the output again.
  const keptAside = await sweepStaging(out, false)
  const earlier = await checkReplaceable(out, init.out ?? out)
  const replaces = earlier !== undefined
  const loaderDir = resolve(init.loaderDir ?? defaultLoaderDir())
  const withWebSeeds = (init.webSeeds?.length ?? 0) > 0 || init.withFiles === true
  await checkLoader(loaderDir, withWebSeeds ? [...LOADER_FILES, WEB_SEED_LOADER_FILE] : LOADER_FILES)
  const indexed = wantsIndex(site.files.length, init.index)
  if (indexed && !await stat(join(loaderDir, INDEX_SCRIPT)).then((s) => s.isFile(), () => false)) {
    throw new UsageError(`the loader file ${INDEX_SCRIPT} is not built (in ${loaderDir}): run \`npm run build\` first`)
  }
  const pieceLength = init.pieceLength ?? choosePieceLength(site.length)
  const prefetchLimit = init.prefetchLimit ?? DEFAULT_PREFETCH_LIMIT
  if (!Number.isSafeInteger(prefetchLimit) || prefetchLimit < 0) throw new UsageError(`invalid prefetch limit ${prefetchLimit}`)
  const spa = init.spa === true
  const { rules: redirects, warnings: ruleWarnings } = await readRedirects(site)
  const names = fileNameWarning(site.files.map((f) => f.path))
  const warnings = [...site.skipped, ...ruleWarnings, ...(names === undefined ? [] : [names]), ...keptAside.map(keptAsideWarning)]
  if (spa && !site.files.some((f) => f.path === 'index.html')) throw new UsageError(`--spa needs an index.html at the top of ${init.dir}`)
  const withFiles = init.withFiles === true
  // The files go to <out>/<name>/ (BEP 19's multi-file layout): that folder may not hide a loader file.
  if (withFiles && (PROTOCOL_LOADER_FILES as readonly string[]).includes(name)) {
    throw new UsageError(`--with-files puts the site under ${name}/ in the output, a name the loader needs: rename the folder`)
  }

  let key: SiteKey | undefined
  let previousSeq = -1
  const state = new PointerStateFile(init.stateDir)
  if (init.keyFile !== undefined) {
    const realKey = await realpathOrNearest(resolve(init.keyFile))
    // Inside either folder, the secret would be published: to every peer, or to the static host.
    if (isInside(site.root, realKey)) throw new UsageError(`key file ${init.keyFile} is inside the site folder ${init.dir}: it would be published; keep it elsewhere`)
    if (isInside(realOut, realKey)) throw new UsageError(`key file ${init.keyFile} is inside the output folder ${init.out ?? out}: it would be uploaded; keep it elsewhere`)
    key = await loadOrCreateSiteKey(init.keyFile)
    if (replaces) previousSeq = await previousOutputSeq(out, key.publicKey)
    previousSeq = Math.max(previousSeq, (await state.load(pointerId(key.publicKey)))?.seq ?? -1)
  }
  const plan: PublishPlan = {
    site, name, out, trackers: [...init.trackers], pieceLength, padPolicy: init.padPolicy ?? DEFAULT_PAD_POLICY, prefetchLimit, loaderDir, redirects, spa, webSeeds, withFiles, warnings, replaces,
    ...(earlier !== false && earlier !== undefined ? { earlier } : {}),
    ...(key !== undefined ? { key } : {}),
    previousSeq,
    now: init.now ?? Date.now,
    state,
    index: indexed,
    ...(init.threads !== undefined ? { threads: init.threads } : {})
  }
  // Refused now, before hashing: checked again just before the new output replaces the old one.
  await keptFiles(plan, init.out ?? out)
  return plan
}

/** The files added to the output folder since the earlier publish; UsageError if this publish writes one of them. */
async function keptFiles (plan: PublishPlan, label: string): Promise<string[]> {
  if (plan.earlier === undefined) return []
  let added: string[]
  try {
    added = await addedFiles(plan.out, plan.earlier)
  } catch (err) {
    throw describeSystemError(err, `read the output folder ${label}`)
  }
  if (added.length === 0) return added
  const files = new Set(plan.withFiles ? plan.site.files.map((f) => `${plan.name}/${f.path}`) : [])
  const folders = new Set<string>(plan.withFiles ? [plan.name] : [])
  for (const file of files) {
    for (let i = file.indexOf('/'); i !== -1; i = file.indexOf('/', i + 1)) folders.add(file.slice(0, i))
  }
  checkAddedFiles(added, (path) => files.has(path), (path) => folders.has(path), `output folder ${label}`)
  return added
}

/** A `--web-seed` URL: absolute http(s), no query or fragment (BEP 19 appends the name and the file paths to it). */
function checkWebSeedUrl (url: string): void {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ArgumentError(`--web-seed ${url}: not a URL`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ArgumentError(`--web-seed ${url}: only http: and https: URLs`)
  if (parsed.search !== '' || parsed.hash !== '') throw new ArgumentError(`--web-seed ${url}: no query or fragment (the file paths are appended to it)`)
}

/** The site's `_redirects` file (at its top, as on Netlify), parsed; none: no rules. */
async function readRedirects (site: SiteListing): Promise<ParsedRedirects> {
  const file = site.files.find((f) => f.path === REDIRECTS_FILE)
  if (file === undefined) return { rules: [], warnings: [] }
  if (file.length > MAX_REDIRECTS_BYTES) throw new UsageError(`${REDIRECTS_FILE} is larger than ${MAX_REDIRECTS_BYTES / 1024} KiB`)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(file.absPath))
  } catch (err) {
    throw new UsageError(`cannot read ${REDIRECTS_FILE}: ${err instanceof TypeError ? 'it is not UTF-8 text' : (err as Error).message}`)
  }
  return parseRedirects(text)
}

/**
 * The seq of the record in an output folder about to be replaced, if it is this key's: the new one must be higher
 * even if the clock went back. The file is only a hint (anyone could edit it), and an unreadable one is ignored:
 * the clock still gives a seq.
 */
async function previousOutputSeq (out: string, publicKey: Uint8Array): Promise<number> {
  try {
    const manifest = JSON.parse(await readFile(join(out, MANIFEST_FILE), 'utf8')) as { pointer?: unknown }
    if (manifest.pointer === undefined) return -1
    const record = pointerFromJson(manifest.pointer)
    return equalBytes(record.publicKey, publicKey) ? record.seq : -1
  } catch {
    return -1
  }
}

/**
 * Names that cannot be files side by side on Windows or macOS (engine/metainfo/names.ts): `A.html` and `a.html`,
 * `café` spelt in two Unicode forms, Windows' `aux.txt`. Browsers serve such a site as it is (URLs are
 * case-sensitive), so publish only warns; `get`, `serve` and `mirror` refuse to store it on a disk that folds names
 * (engine/storage/name-probe.ts).
 */
function fileNameWarning (paths: readonly string[]): string | undefined {
  // ASCII paths fold alike on both (upper case; no Unicode forms to join): with no clash on macOS there is none on
  // Windows, and only Windows' refused names are left to look for. A second pass folding every path and its folders
  // cost 7-10 ms of 10,000 files before the hashing could start.
  const problem = fileNameProblem(paths, 'darwin') ?? fileNameProblem(paths, paths.every(isAscii) ? WINDOWS_NAMES_ONLY : 'win32')
  if (problem === undefined) return undefined
  return `${problem}; \`peersite get\` and mirrors refuse to store this site on such a disk (browsers serve it as it is)`
}

/** Windows' rules without its case folding (fileNameWarning, for paths whose folding macOS' rules have covered). */
const WINDOWS_NAMES_ONLY: NameRules = { ...platformRules('win32'), caseInsensitive: false }

/**
 * BEP 44: "the sequence number seq must be monotonically increasing for each update". Time based (milliseconds), so
 * publishing from another machine or an older folder still goes up, and at least one above any seq already known
 * for the key. Throws UsageError when that would pass 2^53 - 1 (only a forged record in the output could ask it).
 */
export function nextPointerSeq (now: number, known: readonly number[]): number {
  const seq = Math.max(Math.floor(now), ...known.map((k) => k + 1))
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > POINTER_MAX_SEQ) throw new UsageError(`cannot choose a seq above ${Math.max(...known)}: the highest possible is ${POINTER_MAX_SEQ}`)
  return seq
}

/**
 * An existing output folder is only replaced if it is empty or a previous peersite output: false if it is empty,
 * what the earlier publish wrote if it is one, undefined if there is no such folder.
 */
async function checkReplaceable (out: string, label: string): Promise<EarlierOutput | false | undefined> {
  let info
  try {
    // lstat: the output is replaced by renames, which would replace a symbolic link itself, not its target.
    info = await lstat(out)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new UsageError(`cannot use output folder ${label}: ${systemReason(err)}`)
  }
  if (info.isSymbolicLink()) throw new UsageError(`output ${label} is a symbolic link: give the folder itself as --out`)
  if (!info.isDirectory()) throw new UsageError(`output ${label} exists and is not a folder`)
  const entries = await readdir(out)
  if (entries.length === 0) return false
  const manifest = entries.includes(MANIFEST_FILE) ? await readOutputManifest(join(out, MANIFEST_FILE)) : undefined
  if (manifest === undefined) {
    const why = entries.includes(MANIFEST_FILE) ? `its ${MANIFEST_FILE} is not one peersite wrote` : `no ${MANIFEST_FILE}`
    throw new UsageError(`output folder ${label} exists and is not a peersite output (${why}): remove it or choose another --out`)
  }
  if (manifest.withFiles !== true) return { names: OUTPUT_NAMES }
  // --with-files: the site's files under <name>/, listed in the manifest, or in the torrent when an index holds them.
  let paths: readonly string[] = manifest.files.map((f) => f.path)
  if (manifest.index !== undefined) {
    try {
      paths = (await parseTorrentBytes(await readFile(join(out, TORRENT_FILE)), TORRENT_FILE)).metainfo.files.map((f) => f.path)
    } catch {
      throw new UsageError(`output folder ${label}: cannot tell which files in ${manifest.name}/ the earlier publish wrote (its ${TORRENT_FILE} is unreadable): remove the folder or choose another --out`)
    }
  }
  return { names: OUTPUT_NAMES, siteFolder: manifest.name, siteFiles: new Set(paths) }
}

/** What publish may write at the top of an output folder: the loader's files and the index sections' folder. */
const OUTPUT_NAMES: ReadonlySet<string> = new Set([...PROTOCOL_LOADER_FILES, INDEX_SCRIPT, INDEX_DIR])

/** The output's peersite.json if it has the shape of one publish wrote (a project's own peersite.json has not). */
async function readOutputManifest (path: string): Promise<SiteManifest | undefined> {
  let value: unknown
  try {
    value = JSON.parse(await readFile(path, 'utf8'))
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const m = value as Record<string, unknown>
  const ok = m.version === 1 && typeof m.infoHash === 'string' && /^[0-9a-f]{40}$/.test(m.infoHash) && typeof m.name === 'string' &&
    Array.isArray(m.files) && m.files.every((f: unknown) => typeof f === 'object' && f !== null && typeof (f as { path?: unknown }).path === 'string')
  return ok ? value as SiteManifest : undefined
}

async function checkLoader (loaderDir: string, files: readonly string[]): Promise<void> {
  const missing: string[] = []
  for (const file of files) {
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

/**
 * Hashes the site and writes the output folder atomically: it is assembled in a temporary sibling folder, begun once
 * the site is hashed (a file that cannot be read is refused before anything is written). The loader's files are
 * copied while the pages' needs and the index are worked out, and each index section is written as it is made.
 * A failure anywhere removes that folder.
 */
export async function executePublish (plan: PublishPlan, onProgress?: (hashed: number, total: number) => void): Promise<PublishResult> {
  const hashed = await hashSite(plan, onProgress)
  let staging: string
  // Ctrl-C puts the earlier output back and removes the staging folder (one being created as the signal comes is
  // named with this process's id: the next publish sweeps it).
  let replacement: OutputReplacement | undefined
  const forget = undoReplaceOnSignal(plan.out, () => replacement)
  try {
    await makeFolders(dirname(plan.out))
    staging = await makeStagingFolder(join(dirname(plan.out), `${stagingPrefix(plan.out)}${process.pid}-`), `the output folder ${plan.out}`)
    replacement = new OutputReplacement(staging, plan.out)
  } catch (err) {
    forget()
    throw describeSystemError(err, `create the output folder ${plan.out}`)
  }
  try {
    // The sections' folder is there before the first section is written into it.
    if (plan.index) await mkdir(join(staging, INDEX_DIR))
  } catch (err) {
    await rm(staging, { recursive: true, force: true })
    forget()
    throw describeSystemError(err, `write the output folder ${plan.out}`)
  }
  const described = (err: unknown): unknown => describeSystemError(err, `write the output folder ${plan.out}`)
  let kept: string[] = []
  const loader = writeLoader(plan, staging).catch((err: unknown) => { throw described(err) })
  loader.catch(() => {}) // awaited below; until then a failure must not count as unhandled
  try {
    const built = await buildOutput(plan, hashed, (section) => {
      // Synchronously: an awaited write per file costs more CPU (a thread-pool round trip and a FileHandle each) and
      // was no sooner here, where creating the files of one folder is the kernel's work, one at a time.
      try {
        writeFileSync(join(staging, section.path), section.bytes)
      } catch (err) {
        throw described(err)
      }
    })
    // A new key is written before the output that depends on it: an output signed by a key that was then lost would
    // be an address nobody can update.
    await plan.key?.save()
    // Remembered before the output exists: a seq is never handed out twice, even if this publish fails later.
    if (built.pointer !== undefined) await plan.state.save(pointerId(built.pointer.publicKey), { seq: built.pointer.seq, record: built.pointer })
    await loader
    try {
      await writeFile(join(staging, TORRENT_FILE), built.torrent)
      await writeFile(join(staging, MANIFEST_FILE), JSON.stringify(built.manifest))
      await pinLoader(staging, plan.index)
      if (plan.withFiles) await copySiteFiles(plan, join(staging, plan.name))
      // Listed again: a file added while the site was hashed is kept too.
      kept = await keptFiles(plan, plan.out)
      await copyAddedFiles(plan.out, staging, kept)
      // The earlier output stays whole until the new one is complete.
      await replacement.run(plan.replaces)
    } catch (err) {
      throw described(err)
    }
    forget()
    // Staging folders an earlier version of publish left (their names do not say whose they were): this one is done.
    await sweepStaging(plan.out, true)
    const { torrent, ...result } = built
    return { ...result, out: plan.out, kept }
  } catch (err) {
    // Nothing may still be writing into the folder as it is removed.
    await loader.catch(() => {})
    await rm(staging, { recursive: true, force: true })
    forget()
    throw err
  }
}

/** Staging folders of `out` are named `.<name>.tmp-<pid>-XXXXXX` beside it (the old output, while replaced: `-old` after). */
function stagingPrefix (out: string): string {
  return `.${basename(out)}.tmp-`
}

/**
 * A publish that was killed (SIGKILL, a crash, a power cut) leaves its staging folder behind; the next publish into
 * the same output removes those whose process is gone. A killed publish's old output, moved aside while the new
 * one replaced it, is put back if nothing took its place (putBack: the output missing or an empty folder), else
 * kept and returned, never removed. `unnamed`: also the folders of earlier versions, named `.<name>.tmp-XXXXXX`
 * without a process id (only once this publish has succeeded: another may be writing them).
 */
async function sweepStaging (out: string, unnamed: boolean): Promise<string[]> {
  return await sweepLeftovers(out, stagingPrefix(out), /^(?:(?<pid>\d+)-)?[A-Za-z0-9]{6}(?<old>-old)?$/, unnamed)
}

/** The loader's files in the output folder (pinned by pinLoader once peersite.json and site.torrent are there too). */
async function writeLoader (plan: PublishPlan, staging: string): Promise<void> {
  if (plan.index) await copyFile(join(plan.loaderDir, INDEX_SCRIPT), join(staging, INDEX_SCRIPT))
  for (const file of LOADER_FILES) {
    if (file === FOLLOW_SCRIPT && plan.key === undefined) continue // only a keyed site follows a key
    await copyFile(await loaderSource(plan.loaderDir, file, plan.key !== undefined, isPlain(plan)), join(staging, file))
  }
  if (hasWebSeeds(plan)) await copyFile(join(plan.loaderDir, WEB_SEED_LOADER_FILE), join(staging, WEB_SEED_LOADER_FILE))
}

interface HashedSite {
  readonly metainfo: Metainfo
  readonly torrent: Uint8Array
  /** What the pages, stylesheets and scripts name, found as they were hashed. */
  readonly refs: SubresourceRefs
  /** The sectioned index, laid out while the pieces were hashed (an indexed site). */
  readonly indexPlan: SiteIndexPlan | undefined
  readonly typeOf: (path: string) => string
}

/** The torrent of the site: every file read once, on the hashing threads for a big site. */
async function hashSite (plan: PublishPlan, onProgress: ((hashed: number, total: number) => void) | undefined): Promise<HashedSite> {
  const refs = new SubresourceRefs()
  const typeOf = contentTypeOf
  // A sectioned index is laid out while the pieces hash on other threads; only their hashes are added after.
  let indexPlan: SiteIndexPlan | undefined
  const { metainfo, torrent } = await buildTorrent(plan.site, {
    ...(plan.index ? { whileHashing: (files: Parameters<typeof planSiteIndex>[0]) => { indexPlan = planSiteIndex(files, plan.pieceLength, typeOf) } } : {}),
    name: plan.name,
    pieceLength: plan.pieceLength,
    trackers: plan.trackers,
    createdBy: `peersite ${packageInfo().version}`,
    padPolicy: plan.padPolicy,
    // The pages' references feed `preload` (in peersite.json, or in the sections of a sectioned index).
    scan: refs,
    webSeeds: plan.webSeeds,
    ...(plan.threads !== undefined ? { threads: plan.threads } : {}),
    ...(onProgress !== undefined ? { onProgress } : {})
  })
  return { metainfo, torrent, refs, indexPlan, typeOf }
}

/** What executePublish writes and returns, made in memory: the manifest, and the index sections (to `onSection`). */
async function buildOutput (plan: PublishPlan, { metainfo, torrent, refs, indexPlan, typeOf }: HashedSite, onSection: (section: BuiltSection) => void): Promise<Omit<PublishResult, 'out' | 'kept'> & { torrent: Uint8Array }> {
  const magnetURI = toMagnetURI({
    infoHash: metainfo.infoHash, name: plan.name, announce: [...plan.trackers],
    ...(plan.webSeeds.length > 0 ? { urlList: [...plan.webSeeds] } : {})
  })
  let pointer: VerifiedPointer | undefined
  let address: string | undefined
  if (plan.key !== undefined) {
    pointer = await signPointer(plan.key.signer, { infoHash: metainfo.infoHash, seq: nextPointerSeq(plan.now(), [plan.previousSeq]) })
    address = btpkMagnet(plan.key.publicKey)
  }
  let manifest: Manifest = {
    version: 1,
    infoHash: metainfo.infoHash,
    // No magnet link: every visitor downloads this file first, and the problem page makes the link from the
    // infohash, name and trackers (loader/problem.ts). publish prints it and returns it (PublishResult).
    name: plan.name,
    // Browsers reach only WebSocket trackers; the torrent lists the HTTP and UDP ones too (for ordinary clients).
    trackers: plan.trackers.filter(isWebSocketTracker),
    pieceLength: metainfo.pieceLength,
    length: metainfo.length,
    prefetchLimit: plan.prefetchLimit,
    ...(plan.redirects.length > 0 ? { redirects: plan.redirects } : {}),
    ...(plan.spa ? { spa: true } : {}),
    ...(plan.webSeeds.length > 0 ? { webSeeds: [...plan.webSeeds] } : {}),
    ...(plan.withFiles ? { withFiles: true } : {}),
    // A sectioned index holds the table instead (below): not built here only to be dropped.
    files: plan.index ? [] : metainfo.files.map((f) => ({ path: f.path, length: f.length, type: typeOf(f.path) })),
    ...(address !== undefined && pointer !== undefined ? { address, pointer: pointerToJson(pointer) } : {})
  }
  // Indexes of the manifest's (the torrent's) file order, which is the listing's: buildTorrent checked it.
  const preload = await scanSubresources(plan.site.files, refs)
  if (plan.index) {
    // Many files: the table and the piece hashes go to sections the worker fetches as requests need them
    // (worker/site-index.ts); peersite.json keeps only their hashes. Each section carries its own pages' needs
    // (small ones whole, others by path): a table for every page in peersite.json would grow every first visit.
    const needs = { table: preload, files: metainfo.files, pieceLength: metainfo.pieceLength }
    const index = finishSiteIndex(indexPlan ?? planSiteIndex(metainfo.files, metainfo.pieceLength, typeOf), metainfo.pieceHashes, needs, onSection)
    manifest = { ...manifest, index: index.root }
  } else if (preload.pages.length > 0 || preload.likely !== undefined) {
    manifest = { ...manifest, preload }
  }

  return {
    plan, infoHash: metainfo.infoHash, magnetURI, metainfo, manifest, torrent,
    ...(pointer !== undefined && address !== undefined ? { pointer, address } : {})
  }
}

/**
 * `--with-files`: the site's files under `<out>/<name>/`, as BEP 19 lays out a multi-file torrent below a web seed's
 * URL (`<url>/<name>/<path>`), so the static host of the loader is a web seed at the loader's own folder.
 */
async function copySiteFiles (plan: PublishPlan, dest: string): Promise<void> {
  for (const file of plan.site.files) {
    const target = join(dest, ...file.path.split('/'))
    await makeFolders(dirname(target))
    await copyFile(file.absPath, target)
  }
}

/**
 * A plain site: no `_redirects` rules, no --spa, no sectioned index and no web seeds. Its loader script and worker are
 * built without the code for those (scripts/build-browser.mjs PEERSITE_PLAIN).
 */
function isPlain (plan: PublishPlan): boolean {
  return !plan.index && plan.redirects.length === 0 && !plan.spa && !hasWebSeeds(plan)
}

/** Web seeds: `--web-seed` URLs, or the loader's own host with `--with-files`. */
function hasWebSeeds (plan: PublishPlan): boolean {
  return plan.webSeeds.length > 0 || plan.withFiles
}

/**
 * A keyed site's loader script and worker are the keyed variants (scripts/build-browser.mjs: peersite-keyed.js,
 * sw-keyed.js, which follow the site key's newest version), and a plain site's (isPlain) the plain ones (peersite-plain.js, sw-plain.js: without the code for those), when the
 * loader folder has them.
 */
async function loaderSource (loaderDir: string, file: string, keyed: boolean, plain: boolean): Promise<string> {
  const suffix = keyed ? '-keyed.js' : plain ? '-plain.js' : undefined
  const variant = suffix !== undefined && (file === 'peersite.js' || file === 'sw.js') ? join(loaderDir, file.replace('.js', suffix)) : undefined
  if (variant !== undefined && await stat(variant).then((s) => s.isFile(), () => false)) return variant
  return join(loaderDir, file)
}

/**
 * Builds the SHA-256 of the loader files the worker caches into sw.js (worker/verify.ts pinsScript): any script of
 * the origin can rewrite Cache Storage, not the worker's own script, so the worker drops cached copies that do not
 * match. sw.js changes with every publish, so browsers install the new worker (and its pins) with the new site.
 */
async function pinLoader (dir: string, indexed: boolean): Promise<void> {
  const pins: Record<string, string> = {}
  for (const name of PINNED_FILES) {
    pins[name] = createHash('sha256').update(await readFile(join(dir, name))).digest('hex').slice(0, PIN_HEX)
  }
  const worker = join(dir, WORKER_FILE)
  // A site with a sectioned index: the worker's index code (protocol.ts INDEX_SCRIPT), imported at its start (a
  // service worker may import scripts only while it is evaluated; the browser keeps them with the worker).
  const imports = indexed ? `importScripts(${JSON.stringify(INDEX_SCRIPT)});\n` : ''
  await writeFile(worker, pinsScript(pins) + imports + await readFile(worker, 'utf8'))
}

export async function publishSite (init: PublishInit): Promise<PublishResult> {
  return await executePublish(await planPublish(init), init.onProgress)
}
