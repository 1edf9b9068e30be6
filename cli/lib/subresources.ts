/**
 * What each HTML page of a site needs before it can paint: the files the browser would discover only after
 * parsing, one level at a time (scripts, then the modules they import, then theirs; stylesheets, then their
 * @imports and fonts; preloads). `publish` records them in peersite.json (`preload`), so that the loader's engine
 * asks peers for all of them as soon as the page itself is requested, instead of one round trip per level.
 *
 * A scan of the text, not a parser: a missed reference only costs the round trip it would have saved, and a
 * wrong one a few wasted bytes (the browser still asks for what it needs). Only references to files of the site
 * count; links to other hosts, data: URLs, dynamic import() (loaded on demand) and images (often below the fold)
 * are left out.
 */
import { readFile } from 'node:fs/promises'
import { MAX_SCAN_BYTES, pageScanner, scanKindOf, type PageScan, type Ref, type ScanKind } from './page-scan.js'
import type { SiteFile } from './walk.js'

/** The text scanners (cli/lib/page-scan.ts): the hashing threads run the same code on the pages they read. */
export const { htmlReferences, moduleImports, pathLiterals, inlineScripts, cssReferences } = pageScanner()
export type { PageScan, Ref } from './page-scan.js'

/** At most this many subresources per page: the first in document order (what is needed first). */
export const MAX_PAGE_SUBRESOURCES = 64
/**
 * The second tier (`preload.likely`): files a page's scripts name in string literals, which they may load on demand
 * (AMD and MathJax module names, workers, fonts built into a URL at run time). A guess, so bounded: at most this many
 * files and bytes per page (the loader enforces its own cap too, loader/preload.ts), the first found first.
 */
export const MAX_PAGE_LIKELY = 128
export const MAX_PAGE_LIKELY_BYTES = 6 * 1024 * 1024
export const MAX_PAGE_LIKELY_GUESS_BYTES = 1536 * 1024
/** Second-tier candidates looked at per page. */
const MAX_LIKELY_CANDIDATES = 512

const HTML = /\.html?$/i
const CSS = /\.css$/i

/**
 * peersite.json's `preload`: `groups[g]` lists file indexes; `pages` is flat pairs [page file index, group index];
 * `likely` the same pairs for the second tier (what the page's scripts may load on demand).
 */
export interface PreloadTable {
  readonly groups: number[][]
  readonly pages: number[]
  readonly likely?: number[]
}

/** Extensions a script leaves off when it names a file it loads (AMD modules, MathJax extensions). */
const IMPLIED = ['.js', '.css', '.mjs', '.json']
/** Files a second-tier guess never points at: pages are navigations, source maps are for devtools. */
const NOT_LIKELY = /\.(html?|map)$/i

/**
 * The site files a path literal may name: by its last segment (with or without an implied extension), the files
 * whose paths share the most trailing segments with it; none when the best match is ambiguous (more than
 * `maxTies` files).
 */
export function likelyFiles (literal: string, byName: ReadonlyMap<string, readonly number[]>, paths: readonly string[], maxTies = 2): number[] {
  // Prefixes a loader substitutes at run time: "[tex]/", "%%URL%%/", "${base}/" end at their last ] % or }.
  const bare = literal.split(/[?#]/)[0]!.replace(/^.*[\]%}]/, '')
  const segments = bare.split('/').filter((s) => s !== '' && s !== '.' && s !== '..')
  const name = segments[segments.length - 1]
  if (name === undefined) return []
  const found = [...(byName.get(name) ?? []), ...IMPLIED.flatMap((ext) => byName.get(name + ext) ?? [])]
  let best: number[] = []
  let bestScore = 0
  for (const i of found) {
    const parts = paths[i]!.split('/')
    let score = 1
    while (score < segments.length && score < parts.length && parts[parts.length - 1 - score] === segments[segments.length - 1 - score]) score++
    if (score > bestScore) { best = [i]; bestScore = score } else if (score === bestScore) best.push(i)
  }
  return best.length > maxTies ? [] : best.filter((i) => !NOT_LIKELY.test(paths[i]!))
}

/**
 * The site path a reference from `from` (a site path) points to, or undefined when it leaves the site: another
 * host, a data: or blob: URL, a bare module specifier. Root-absolute references are read against the site root
 * (a site is usually published at the root of its host).
 */
export function resolveReference (from: string, ref: string): string | undefined {
  const trimmed = ref.trim()
  if (trimmed === '' || /^[a-z][a-z0-9+.-]*:/i.test(trimmed) || trimmed.startsWith('//') || trimmed.startsWith('#')) return undefined
  // Bare specifiers ("react") need an import map: not ours to guess.
  if (!trimmed.startsWith('.') && !trimmed.startsWith('/') && !/\.[a-z0-9]+([?#].*)?$/i.test(trimmed)) return undefined
  const base = new URL(from, 'http://site.invalid/')
  let url: URL
  try {
    url = new URL(trimmed, base)
  } catch {
    return undefined
  }
  if (url.host !== 'site.invalid') return undefined
  try {
    return decodeURIComponent(url.pathname).slice(1)
  } catch {
    return undefined
  }
}

/** Reads a file's text (undefined when too big to scan or unreadable). */
async function readText (file: SiteFile): Promise<string | undefined> {
  if (file.length > MAX_SCAN_BYTES) return undefined
  try {
    return await readFile(file.absPath, 'utf8')
  } catch {
    return undefined
  }
}

/** Scripts that may be ES modules: their static imports are taken while publish hashes them. */
const SCRIPT = /\.(m?js|cjs)$/i

/**
 * The references of a site's pages, stylesheets and scripts, taken from their bytes while publish hashes them (one
 * read of each file instead of two; only the references are kept, never the text): buildTorrent's `scan` (the
 * hashing threads scan what they read, cli/lib/page-scan.ts). scanSubresources reads any file it needs that was
 * not seen here.
 */
export class SubresourceRefs {
  readonly html = new Map<string, readonly Ref[]>()
  readonly css = new Map<string, readonly Ref[]>()
  readonly module = new Map<string, readonly Ref[]>()
  /** Path literals of scripts, and of pages' inline scripts (second-tier hints). */
  readonly literals = new Map<string, readonly string[]>()

  /** Which scan a file gets (0: none, its bytes are not wanted). */
  kind (path: string): ScanKind {
    return scanKindOf(path)
  }

  /** What the file at `path` (of this kind) names. */
  took (path: string, kind: ScanKind, found: PageScan): void {
    if (kind === 1) {
      this.html.set(path, found.refs)
      this.literals.set(path, found.literals)
    } else if (kind === 2) {
      this.css.set(path, found.refs)
    } else if (kind === 3) {
      this.module.set(path, found.refs)
      this.literals.set(path, found.literals)
    }
  }
}

/**
 * The preload table of a site: for each HTML page, its subresources' file indexes (identical lists shared). `known`:
 * references already taken from the files' bytes (publish's hashing pass); anything else is read here.
 */
export async function scanSubresources (files: readonly SiteFile[], known?: SubresourceRefs): Promise<PreloadTable> {
  const index = new Map(files.map((f, i) => [f.path, i]))
  // Each script and stylesheet is read and scanned once, whatever number of pages use it.
  const memo = new Map<string, Promise<readonly Ref[]>>()
  const refsOf = async (path: string, kind: Ref['kind']): Promise<readonly Ref[]> => {
    const key = `${kind}:${path}`
    let found = memo.get(key)
    if (found === undefined) {
      found = (async () => {
        const file = files[index.get(path)!]!
        const taken = kind === 'module' ? known?.module.get(path) : kind === 'css' && CSS.test(path) ? known?.css.get(path) : undefined
        if (taken !== undefined) return taken
        if (kind === 'module') {
          const text = await readText(file)
          return text === undefined ? [] : moduleImports(text).map((url) => ({ url, kind: 'module' as const }))
        }
        if (kind === 'css' && CSS.test(path)) {
          const text = await readText(file)
          return text === undefined ? [] : cssReferences(text)
        }
        return []
      })()
      memo.set(key, found)
    }
    return await found
  }

  // Pages of one folder share most references ("../style.css"): each is resolved once per folder (a URL parse each
  // was a third of the scan on a 10,000-page site).
  const resolved = new Map<string, string | undefined>()
  const resolve = (from: string, url: string): string | undefined => {
    const key = `${from.slice(0, from.lastIndexOf('/') + 1)}\0${url}`
    if (resolved.has(key)) return resolved.get(key)
    const path = resolveReference(from, url)
    resolved.set(key, path)
    return path
  }
  // Second tier: path literals of a page's inline scripts and of its scripts, read once each.
  const literalMemo = new Map<string, Promise<readonly string[]>>()
  const literalsOf = async (path: string): Promise<readonly string[]> => {
    let found = literalMemo.get(path)
    if (found === undefined) {
      found = (async () => {
        const taken = known?.literals.get(path)
        if (taken !== undefined) return taken
        const text = await readText(files[index.get(path)!]!)
        return text === undefined ? [] : pathLiterals(HTML.test(path) ? inlineScripts(text) : text)
      })()
      literalMemo.set(path, found)
    }
    return await found
  }
  let names: Map<string, number[]> | undefined
  const paths = files.map((f) => f.path)
  const byName = (): Map<string, number[]> => {
    if (names !== undefined) return names
    names = new Map()
    for (const [i, path] of paths.entries()) {
      const name = path.slice(path.lastIndexOf('/') + 1)
      const same = names.get(name)
      if (same === undefined) names.set(name, [i])
      else same.push(i)
    }
    return names
  }
  /** The files a page's inline scripts or a script name (a stylesheet followed by its fonts), once per file. */
  const hitsMemo = new Map<string, Promise<number[]>>()
  const hitsOf = async (from: string): Promise<number[]> => {
    let found = hitsMemo.get(from)
    if (found === undefined) {
      found = (async () => {
        const hits = new Set<number>()
        for (const literal of await literalsOf(from)) {
          const exact = resolve(from, literal)
          const exactIndex = exact === undefined ? undefined : index.get(exact)
          for (const i of exactIndex !== undefined ? [exactIndex] : likelyFiles(literal, byName(), paths)) {
            if (NOT_LIKELY.test(paths[i]!) || hits.has(i)) continue
            hits.add(i)
            // A stylesheet's fonts and imports come with it (monaco's codicon font).
            if (CSS.test(paths[i]!)) {
              for (const ref of await refsOf(paths[i]!, 'css')) {
                const sub = resolve(paths[i]!, ref.url)
                const j = sub === undefined ? undefined : index.get(sub)
                if (j !== undefined) hits.add(j)
              }
            }
          }
        }
        return [...hits]
      })()
      hitsMemo.set(from, found)
    }
    return await found
  }
  /**
   * The second tier of a page: files its scripts name (and what those files need), bounded in count and bytes.
   * What the page's own inline scripts name comes first, as found (monaco's page names its editor.main.js, 3.6 MB):
   * the page loads it for sure. The rest are guesses, of which a page loads a few (monaco names 80 languages and
   * uses one, MathJax 40 extensions and 23 fonts and uses 3 and 4): the smallest first, up to
   * MAX_PAGE_LIKELY_GUESS_BYTES, so a wrong guess costs little and a big file is left to the browser's own request.
   */
  const likelyOf = async (page: string, taken: Set<number>, firstTier: readonly number[]): Promise<number[]> => {
    const found: number[] = []
    const direct = new Set<number>()
    let fromPage = true
    const add = (i: number): void => {
      if (taken.has(i) || found.length >= MAX_LIKELY_CANDIDATES) return
      taken.add(i)
      found.push(i)
      if (fromPage) direct.add(i)
    }
    const sources = [page, ...firstTier.map((i) => paths[i]!).filter((p) => SCRIPT.test(p))]
    for (let q = 0; q < sources.length && found.length < MAX_LIKELY_CANDIDATES; q++) {
      fromPage = q === 0
      for (const i of await hitsOf(sources[q]!)) {
        if (taken.has(i)) continue
        add(i)
        if (SCRIPT.test(paths[i]!)) sources.push(paths[i]!)
      }
    }
    const out: number[] = []
    let bytes = 0
    let guessed = 0
    const guesses = found.filter((i) => !direct.has(i)).sort((a, b) => files[a]!.length - files[b]!.length)
    for (const i of [...found.filter((i) => direct.has(i)), ...guesses]) {
      const length = files[i]!.length
      if (out.length >= MAX_PAGE_LIKELY || bytes + length > MAX_PAGE_LIKELY_BYTES) continue
      if (!direct.has(i)) {
        if (guessed + length > MAX_PAGE_LIKELY_GUESS_BYTES) break
        guessed += length
      }
      bytes += length
      out.push(i)
    }
    return out
  }
  const groups: number[][] = []
  const groupIds = new Map<string, number>()
  const groupOf = (list: number[]): number => {
    const key = list.join(',')
    let group = groupIds.get(key)
    if (group === undefined) {
      group = groups.length
      groups.push(list)
      groupIds.set(key, group)
    }
    return group
  }
  const pages: number[] = []
  const likely: number[] = []
  const likelyMemo = new Map<string, number[]>()
  /**
   * A page's first tier depends on its references and its folder (they resolve against it), and on the page itself
   * only where the walk meets it. Pages of one folder with the same references (the same list: the threads hand
   * identical findings over as one object) share it: 10,000 pages are walked once per folder, not once each.
   */
  const firstTiers = new Map<readonly Ref[], Map<string, { list: number[], group: number, key: string }>>()
  for (const [pageIndex, page] of files.entries()) {
    if (!HTML.test(page.path)) continue
    let refs = known?.html.get(page.path)
    if (refs === undefined) {
      const html = await readText(page)
      if (html === undefined) continue
      refs = htmlReferences(html)
    }
    const folder = page.path.slice(0, page.path.lastIndexOf('/') + 1)
    let shared = firstTiers.get(refs)?.get(folder)
    if (shared !== undefined && shared.list.includes(pageIndex)) shared = undefined // this page is a need of its neighbours
    let list: number[]
    if (shared !== undefined) {
      list = shared.list
    } else {
      const seen = new Set<number>([pageIndex])
      list = []
      let metSelf = false
      // Breadth first from the page: what the browser discovers first comes first.
      let level: Array<{ from: string, ref: Ref }> = refs.map((ref) => ({ from: page.path, ref }))
      while (level.length > 0 && list.length < MAX_PAGE_SUBRESOURCES) {
        const next: Array<{ from: string, ref: Ref }> = []
        for (const { from, ref } of level) {
          const path = resolve(from, ref.url)
          const i = path === undefined ? undefined : index.get(path)
          if (i === pageIndex) metSelf = true
          if (i === undefined || seen.has(i) || list.length >= MAX_PAGE_SUBRESOURCES) continue
          seen.add(i)
          list.push(i)
          for (const child of await refsOf(path!, ref.kind)) next.push({ from: path!, ref: child })
        }
        level = next
      }
      shared = { list, group: list.length > 0 ? groupOf(list) : -1, key: list.join(',') }
      // A walk that met the page itself would have gone on from there for any other page: not shared.
      if (!metSelf) {
        let byFolder = firstTiers.get(refs)
        if (byFolder === undefined) firstTiers.set(refs, byFolder = new Map())
        byFolder.set(folder, shared)
      }
    }
    if (list.length > 0) pages.push(pageIndex, shared.group)
    // Pages with the same needs and no path literals of their own (most pages of a big site sharing one bundle)
    // share the second tier: a 4,000-literal bundle is matched once, not once per page.
    const own = known?.literals.get(page.path) ?? await literalsOf(page.path)
    const key = own.length === 0 ? shared.key : undefined
    let more = key === undefined ? undefined : likelyMemo.get(key)
    if (more === undefined) {
      more = await likelyOf(page.path, new Set([pageIndex, ...list]), list)
      if (key !== undefined) likelyMemo.set(key, more)
    }
    if (more.length > 0) likely.push(pageIndex, groupOf(more))
  }
  return likely.length > 0 ? { groups, pages, likely } : { groups, pages }
}
