/**
 * The text scanners behind the subresource scan (cli/lib/subresources.ts): what a page, a stylesheet or a script
 * names, from its text alone. They live in one self-contained factory, pageScanner(), which uses nothing but
 * JavaScript's own globals, so that the hashing threads (cli/lib/hash-pool.ts) run the very same code from its source
 * text (a thread started from source cannot import modules) and scan each page where its bytes are read: the main
 * thread then gets a page's few references instead of its bytes. The main thread's scanner is the same factory's.
 */

/** A reference found in a file: a URL as written, and what loads it (which decides what it loads in turn). */
export interface Ref { readonly url: string, readonly kind: 'script' | 'module' | 'css' | 'other' }

/**
 * What one file names: its references (a page's scripts, stylesheets and preloads; a stylesheet's @imports and
 * fonts; a script's static imports) and the path-like string literals of its scripts (a page's inline ones).
 */
export interface PageScan { readonly refs: readonly Ref[], readonly literals: readonly string[] }

/** Which scan a file gets, by its name: 0 none, 1 an HTML page, 2 a stylesheet, 3 a script (maybe an ES module). */
export type ScanKind = 0 | 1 | 2 | 3

/** Files larger than this are not scanned (a huge generated page or bundle: its references are not worth the CPU). */
export const MAX_SCAN_BYTES = 8 * 1024 * 1024

/** The scan a file of this path gets (ScanKind). */
export function scanKindOf (path: string): ScanKind {
  return /\.html?$/i.test(path) ? 1 : /\.css$/i.test(path) ? 2 : /\.(m?js|cjs)$/i.test(path) ? 3 : 0
}

/** The scanners. Self-contained (see above): no imports, no module-level names, only JavaScript's globals. */
export function pageScanner () {
  /** Path-like literals kept per script (a minified bundle has thousands of strings; the first are enough). */
  const MAX_LITERALS = 4096
  const FONT = /\.(woff2?|ttf|otf|eot)$/i
  const decoder = new TextDecoder()

  /** References in an HTML document: scripts (classic and module, inline modules' imports), stylesheets, preloads, inline styles' fonts. */
  function htmlReferences (html: string): Ref[] {
    const refs: Ref[] = []
    const text = withoutComments(html)
    const tag = /<(script|link|style)\b([^>]*)>/gi
    const tags = tagRegion(text)
    let m: RegExpExecArray | null
    while ((m = tag.exec(tags)) !== null) {
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
  function moduleImports (source: string): string[] {
    // What `/(?:^|[;\s})])(?:import|export)\s*(?:[\w*${}\s,]+?\s*from\s*)?(["'])([^"'\n]+)\1/g` finds, in one pass:
    // that regex scans from every keyword across the clause (`{ a, b } from`) and the string after it, which a crafted
    // module of keywords with no string after them made quadratic (280 KB: 27 s). Everything from the keyword to the
    // string's opening quote is clause characters, so the quote can only be where their run ends; each run, its
    // trailing `from` and its string are found once for all the keywords inside it.
    const out: string[] = []
    const keyword = /(?:^|[;\s})])(?:import|export)/g
    const clause = /[\w*${}\s,]/
    const space = /\s/
    let run = { from: -1, end: -1, last: -1, fromKeyword: -1, string: '' as string | undefined }
    const runAt = (at: number): typeof run => {
      if (at <= run.end && at >= run.from) return run
      let end = at
      while (end < source.length && clause.test(source[end]!)) end++
      let last = end // the run without its trailing whitespace: a clause ends in `from` there
      while (last > at && space.test(source[last - 1]!)) last--
      const quote = source[end]
      let string: string | undefined
      if (quote === '"' || quote === "'") {
        let close = end + 1
        while (close < source.length && source[close] !== '"' && source[close] !== "'" && source[close] !== '\n') close++
        if (close > end + 1 && source[close] === quote) string = source.slice(end + 1, close)
      }
      return (run = { from: at, end, last, fromKeyword: source.slice(last - 4, last) === 'from' ? last - 4 : -1, string })
    }
    let m: RegExpExecArray | null
    while ((m = keyword.exec(source)) !== null) {
      const after = keyword.lastIndex
      const r = runAt(after)
      // The keyword and a string with only whitespace between, or a clause (at least one character) ending in `from`.
      if (r.string !== undefined && (r.last <= after || r.fromKeyword > after)) {
        out.push(r.string)
        keyword.lastIndex = r.end + r.string.length + 2
      } else {
        keyword.lastIndex = m.index + 1
      }
    }
    return out
  }

  /**
   * String literals of a script that look like paths of files (contain a slash or end in an extension):
   * "vs/language/json/jsonMode", "%%URL%%/MathJax_Zero.woff", "[tex]/cancel". A scan, not a parser: a literal it
   * misreads costs at most a capped guess.
   */
  function pathLiterals (source: string): string[] {
    const out: string[] = []
    const re = /(["'`])([^"'`\s\\<>(){}|,;*$^]{2,200}?)\1/g
    let m: RegExpExecArray | null
    while ((m = re.exec(source)) !== null && out.length < MAX_LITERALS) {
      const text = m[2]!
      if (text.startsWith('//') || /^[a-z][a-z0-9+.-]*:/i.test(text)) continue
      if (text.includes('/') || /\.[a-z][a-z0-9]{0,4}$/i.test(text)) out.push(text)
    }
    return out
  }

  /** The classic (non-module, non-src) inline scripts' text of a page: their literals are second-tier hints. */
  function inlineScripts (html: string): string {
    let out = ''
    const open = /<script\b([^>]*)>/gi
    const close = /<\/script/gi
    const tags = tagRegion(html)
    let m: RegExpExecArray | null
    while ((m = open.exec(tags)) !== null) {
      close.lastIndex = open.lastIndex
      const end = close.exec(html)
      if (end === null) break // no script after this one is closed either
      open.lastIndex = close.lastIndex
      const attrs = parseAttributes(m[1]!)
      if (attrs.src === undefined && (attrs.type === undefined || /javascript|module/i.test(attrs.type))) out += html.slice(m.index + m[0].length, end.index) + '\n'
    }
    return out
  }

  /*
   * A crafted page must not make publish's scan quadratic (it reads every page of a site, pages nobody here wrote
   * among them). A regex that looks for an end marker after each opening (`<!--[\s\S]*?-->`, `<script[^>]*>`) rescans
   * the rest of the page from every opening when the marker never comes: 160 KB of unclosed `<!--` took 0.4 s, 8 MB
   * would take minutes. These scans stop at the first opening with no end after it (nothing later has one either),
   * and give what the regexes give.
   */

  /**
   * `text` without its comments, as a lazy regex replace (`/<!--[\s\S]*?-->/g`, `/\/\*[\s\S]*?\*\//g`) gives it, in
   * one pass.
   */
  function withoutComments (text: string, start = '<!--', end = '-->'): string {
    let out = ''
    let from = 0
    for (let open = text.indexOf(start); open >= 0; open = text.indexOf(start, from)) {
      const close = text.indexOf(end, open + start.length)
      if (close < 0) break
      out += text.slice(from, open)
      from = close + end.length
    }
    return from === 0 ? text : out + text.slice(from)
  }

  /** The part of `html` that can hold a whole tag (`<name ...>`): up to its last `>`. */
  function tagRegion (html: string): string {
    return html.slice(0, html.lastIndexOf('>') + 1)
  }

  /** A stylesheet's @imports and fonts. */
  function cssReferences (source: string): Ref[] {
    const refs: Ref[] = []
    const text = withoutComments(source, '/*', '*/')
    const imp = /@import\s+(?:url\(\s*)?(["']?)([^"')\s;]+)\1/gi
    let m: RegExpExecArray | null
    while ((m = imp.exec(text)) !== null) refs.push({ url: m[2]!, kind: 'css' })
    for (const found of cssUrls(text)) {
      if (FONT.test(found.split(/[?#]/)[0]!)) refs.push({ url: found, kind: 'other' })
    }
    return refs
  }

  /**
   * What `url(...)` names in a stylesheet, as `/url\(\s*(["']?)([^"')]+)\1\s*\)/gi` finds it, in one pass: the
   * regex scans from every `url(` to the next quote or parenthesis, which a crafted sheet of `url(` with none after
   * made quadratic; here that next stop is found once for all the `url(`s before it.
   */
  function cssUrls (text: string): string[] {
    const out: string[] = []
    const open = /url\(\s*/gi
    let stop = -1 // the first quote or `)` at or after the last position looked from (none: text.length)
    const stopFrom = (at: number): number => {
      if (at > stop) {
        stop = at
        while (stop < text.length && text[stop] !== '"' && text[stop] !== "'" && text[stop] !== ')') stop++
      }
      return stop
    }
    let m: RegExpExecArray | null
    while ((m = open.exec(text)) !== null) {
      const at = open.lastIndex
      const quote = text[at] === '"' || text[at] === "'" ? text[at] : ''
      const end = stopFrom(at + quote.length)
      if (end === at + quote.length || end >= text.length) continue
      let close = end
      if (quote !== '') {
        if (text[end] !== quote) continue
        close = end + 1
        while (close < text.length && /\s/.test(text[close]!)) close++
      }
      if (text[close] !== ')') continue
      out.push(text.slice(at + quote.length, end))
      open.lastIndex = close + 1
    }
    return out
  }

  /** What a file of this kind names, from its bytes (as UTF-8; ScanKind 0: nothing). Callers skip files over MAX_SCAN_BYTES. */
  function scan (kind: ScanKind, bytes: Uint8Array): PageScan {
    if (kind === 0) return { refs: [], literals: [] }
    const text = decoder.decode(bytes)
    if (kind === 1) return { refs: htmlReferences(text), literals: pathLiterals(inlineScripts(text)) }
    if (kind === 2) return { refs: cssReferences(text), literals: [] }
    return { refs: moduleImports(text).map((url) => ({ url, kind: 'module' as const })), literals: pathLiterals(text) }
  }

  return { htmlReferences, moduleImports, pathLiterals, inlineScripts, cssReferences, scan }
}

/**
 * Who is told what the files name as their bytes are read (buildTorrent's `scan`, cli/lib/subresources.ts
 * SubresourceRefs): `kind` says which files to scan, `took` gets each one's findings, from whichever thread read it.
 */
export interface ScanSink {
  kind: (path: string) => ScanKind
  /** `kind`: the file's ScanKind (as kind(path) said), passed along so that it is not worked out again. */
  took: (path: string, kind: ScanKind, found: PageScan) => void
}
