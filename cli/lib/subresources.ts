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
import type { SiteFile } from './walk.js'

/** Files scanned beyond this size are not parsed (a huge generated page or bundle: its references are not worth the CPU). */
const MAX_SCAN_BYTES = 8 * 1024 * 1024
/** At most this many subresources per page: the first in document order (what is needed first). */
export const MAX_PAGE_SUBRESOURCES = 64

const HTML = /\.html?$/i
const CSS = /\.css$/i
const FONT = /\.(woff2?|ttf|otf|eot)$/i

/** peersite.json's `preload`: `groups[g]` lists file indexes; `pages` is flat pairs [page file index, group index]. */
export interface PreloadTable {
  readonly groups: number[][]
  readonly pages: number[]
}

interface Ref { readonly url: string, readonly kind: 'script' | 'module' | 'css' | 'other' }

/** References in an HTML document: scripts (classic and module, inline modules' imports), stylesheets, preloads, inline styles' fonts. */
export function htmlReferences (html: string): Ref[] {
  const refs: Ref[] = []
  const text = html.replace(/<!--[\s\S]*?-->/g, '')
  const tag = /<(script|link|style)\b([^>]*)>/gi
  let m: RegExpExecArray | null
  while ((m = tag.exec(text)) !== null) {
    const name = m[1]!.toLowerCase()
    const attrs = parseAttributes(m[2]!)
    if (name === 'script') {
      const module = attrs.type?.toLowerCase() === 'module'
      if (attrs.src !== undefined) {
        refs.push({ url: attrs.src, kind: module ? 'module' : 'script' })
      } else if (module) {
        const end = text.indexOf('</script', tag.lastIndex)
        for (const url of moduleImports(text.slice(tag.lastIndex, end < 0 ? undefined : end))) refs.push({ url, kind: 'module' })
      }
    } else if (name === 'style') {
      const end = text.indexOf('</style', tag.lastIndex)
      refs.push(...cssReferences(text.slice(tag.lastIndex, end < 0 ? undefined : end)))
    } else if (attrs.href !== undefined) {
      const rel = (attrs.rel ?? '').toLowerCase().split(/\s+/)
      if (rel.includes('stylesheet') && !rel.includes('alternate')) refs.push({ url: attrs.href, kind: 'css' })
      else if (rel.includes('modulepreload')) refs.push({ url: attrs.href, kind: 'module' })
      else if (rel.includes('preload')) {
        const as = attrs.as?.toLowerCase()
        refs.push({ url: attrs.href, kind: as === 'style' ? 'css' : as === 'script' ? 'script' : 'other' })
      }
    }
  }
  return refs
}

function parseAttributes (source: string): Record<string, string> {
  const attrs: Record<string, string> = {}
  const attr = /([^\s"'=<>`/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g
  let m: RegExpExecArray | null
  while ((m = attr.exec(source)) !== null) {
    const key = m[1]!.toLowerCase()
    if (!(key in attrs)) attrs[key] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '')
  }
  return attrs
}

function decodeEntities (s: string): string {
  if (!s.includes('&')) return s // most values: three scans saved per attribute
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
}

/** Static imports and re-exports of an ES module (`import x from "./a.js"`, `import "./b.js"`, `export * from "./c.js"`). */
export function moduleImports (source: string): string[] {
  const out: string[] = []
  const re = /(?:^|[;\s})])(?:import|export)\s*(?:[\w*${}\s,]+?\s*from\s*)?(["'])([^"'\n]+)\1/g
  let m: RegExpExecArray | null
  while ((m = re.exec(source)) !== null) out.push(m[2]!)
  return out
}

/** A stylesheet's @imports and fonts. */
export function cssReferences (source: string): Ref[] {
  const refs: Ref[] = []
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '')
  const imp = /@import\s+(?:url\(\s*)?(["']?)([^"')\s;]+)\1/gi
  let m: RegExpExecArray | null
  while ((m = imp.exec(text)) !== null) refs.push({ url: m[2]!, kind: 'css' })
  const url = /url\(\s*(["']?)([^"')]+)\1\s*\)/gi
  while ((m = url.exec(text)) !== null) {
    if (FONT.test(m[2]!.split(/[?#]/)[0]!)) refs.push({ url: m[2]!, kind: 'other' })
  }
  return refs
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
 * read of each file instead of two; only the references are kept, never the text). scanSubresources reads any
 * file it needs that was not seen here.
 */
export class SubresourceRefs {
  readonly html = new Map<string, Ref[]>()
  readonly css = new Map<string, Ref[]>()
  readonly module = new Map<string, Ref[]>()
  readonly #decoder = new TextDecoder()

  /** Whether `take` wants the bytes of this file. */
  wants (path: string): boolean {
    return HTML.test(path) || CSS.test(path) || SCRIPT.test(path)
  }

  take (path: string, bytes: Uint8Array): void {
    if (bytes.length > MAX_SCAN_BYTES || !this.wants(path)) return
    const text = this.#decoder.decode(bytes)
    if (HTML.test(path)) this.html.set(path, htmlReferences(text))
    else if (CSS.test(path)) this.css.set(path, cssReferences(text))
    else this.module.set(path, moduleImports(text).map((url) => ({ url, kind: 'module' as const })))
  }
}

/**
 * The preload table of a site: for each HTML page, its subresources' file indexes (identical lists shared). `known`:
 * references already taken from the files' bytes (publish's hashing pass); anything else is read here.
 */
export async function scanSubresources (files: readonly SiteFile[], known?: SubresourceRefs): Promise<PreloadTable> {
  const index = new Map(files.map((f, i) => [f.path, i]))
  // Each script and stylesheet is read and scanned once, whatever number of pages use it.
  const memo = new Map<string, Promise<Ref[]>>()
  const refsOf = async (path: string, kind: Ref['kind']): Promise<Ref[]> => {
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
  const groups: number[][] = []
  const groupIds = new Map<string, number>()
  const pages: number[] = []
  for (const [pageIndex, page] of files.entries()) {
    if (!HTML.test(page.path)) continue
    let refs = known?.html.get(page.path)
    if (refs === undefined) {
      const html = await readText(page)
      if (html === undefined) continue
      refs = htmlReferences(html)
    }
    const seen = new Set<number>([pageIndex])
    const list: number[] = []
    // Breadth first from the page: what the browser discovers first comes first.
    let level: Array<{ from: string, ref: Ref }> = refs.map((ref) => ({ from: page.path, ref }))
    while (level.length > 0 && list.length < MAX_PAGE_SUBRESOURCES) {
      const next: Array<{ from: string, ref: Ref }> = []
      for (const { from, ref } of level) {
        const path = resolve(from, ref.url)
        const i = path === undefined ? undefined : index.get(path)
        if (i === undefined || seen.has(i) || list.length >= MAX_PAGE_SUBRESOURCES) continue
        seen.add(i)
        list.push(i)
        for (const child of await refsOf(path!, ref.kind)) next.push({ from: path!, ref: child })
      }
      level = next
    }
    if (list.length === 0) continue
    const key = list.join(',')
    let group = groupIds.get(key)
    if (group === undefined) {
      group = groups.length
      groups.push(list)
      groupIds.set(key, group)
    }
    pages.push(pageIndex, group)
  }
  return { groups, pages }
}
