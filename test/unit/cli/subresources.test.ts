/**
 * publish records each HTML page's subresources (scripts and their static module graph, stylesheets and their
 * @imports and fonts, preloads) in peersite.json's `preload`, compactly (cli/lib/subresources.ts).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { publishSite } from '../../../cli/lib/publish.js'
import { cssReferences, htmlReferences, inlineScripts, likelyFiles, MAX_PAGE_LIKELY_GUESS_BYTES, moduleImports, pathLiterals, resolveReference, scanSubresources, SubresourceRefs } from '../../../cli/lib/subresources.js'
import { walkSite } from '../../../cli/lib/walk.js'
import { preloadTable } from '../../../loader/preload.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'
import { makeLoaderDir } from './helpers.js'

const temps: TempDir[] = []
afterEach(async () => {
  for (const t of temps.splice(0)) await t.cleanup()
})

async function site (files: Record<string, string>): Promise<string> {
  const t = await makeTempDir('peersite-subres-')
  temps.push(t)
  const dir = join(t.path, 'site')
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true })
    await writeFile(join(dir, path), text)
  }
  return dir
}

const PAGE = `<!doctype html><html><head>
<link rel="stylesheet" href="css/main.css">
<link rel="alternate stylesheet" href="css/dark.css">
<link rel=preload as=font href="/fonts/title.woff2" crossorigin>
<link rel="modulepreload" href="./js/vendor.js">
<link rel="icon" href="logo.png">
<script src="https://cdn.example.com/analytics.js"></script>
<script src="js/classic.js?v=3"></script>
<!-- <script src="js/commented.js"></script> -->
<script type="module">import { start } from './js/app.js'; start()</script>
<style>@font-face { font-family: X; src: url("fonts/inline.woff2") format("woff2") }</style>
</head><body><img src="big.jpg"></body></html>`

describe('finding subresources', () => {
  it('in HTML: scripts, module scripts, stylesheets, preloads, inline modules and styles; not links to other hosts, comments, images', () => {
    expect(htmlReferences(PAGE).map((r) => `${r.kind} ${r.url}`)).toEqual([
      'css css/main.css',
      'other /fonts/title.woff2',
      'module ./js/vendor.js',
      'script https://cdn.example.com/analytics.js',
      'script js/classic.js?v=3',
      'module ./js/app.js',
      'other fonts/inline.woff2'
    ])
  })

  it('a crafted page of openings that never close (comments, tags, scripts) is scanned in one pass, with the same findings', () => {
    // A regex that looks for the closing marker after every opening rescans the rest of the page each time: 2 MB of
    // such openings took minutes (a publish that hangs on one page nobody here wrote). Each scan below is linear.
    const head = '<link rel="stylesheet" href="a.css"><script>load("vs/editor")</script>'
    for (const filler of ['<!--', '<script>', '<script ', '<link ', '<!--<script <style>']) {
      const page = head + filler.repeat(Math.ceil(2_000_000 / filler.length))
      expect(htmlReferences(page).map((r) => `${r.kind} ${r.url}`)).toEqual(['css a.css'])
      expect(inlineScripts(page)).toBe('load("vs/editor")\n')
    }
  })

  it('a crafted module or stylesheet of openings with nothing after them is scanned in one pass, with the same findings', () => {
    // Keywords with no string after them (280 KB took 27 s), `url(` with no `)`, `/*` with no `*/`.
    expect(moduleImports('import "./a.js";' + ' import {'.repeat(200_000) + '"')).toEqual(['./a.js'])
    expect(moduleImports('export * from "./b.js"' + ' export'.repeat(300_000))).toEqual(['./b.js'])
    expect(cssReferences('@font-face { src: url("f.woff2") }' + 'url('.repeat(500_000) + '"').map((r) => r.url)).toEqual(['f.woff2'])
    expect(cssReferences('@import "a.css"; ' + '/*'.repeat(1_000_000)).map((r) => r.url)).toEqual(['a.css'])
  })

  it('in modules: static imports and re-exports, not dynamic import()', () => {
    const src = 'import a from "./a.js"\nimport {b,c} from \'../b.js\';import "./side.js"\nexport * from "./re.js"\nconst lazy = () => import("./lazy.js")\nimport x from "react"'
    expect(moduleImports(src)).toEqual(['./a.js', '../b.js', './side.js', './re.js', 'react'])
  })

  it('in stylesheets: @import and fonts, not background images', () => {
    const css = '@import "base.css"; @import url(theme.css);\n/* url(old.woff) */ .a { background: url(bg.png) } @font-face { src: url(\'f.woff2?x\') }'
    expect(cssReferences(css).map((r) => r.url)).toEqual(['base.css', 'theme.css', 'f.woff2?x'])
  })

  it('resolves references against the referring file, inside the site only', () => {
    expect(resolveReference('docs/guide/index.html', '../../style.css')).toBe('style.css')
    expect(resolveReference('docs/index.html', '/js/app.js?v=1#x')).toBe('js/app.js')
    expect(resolveReference('index.html', 'my%20file.js')).toBe('my file.js')
    expect(resolveReference('index.html', 'https://x.org/a.js')).toBeUndefined()
    expect(resolveReference('index.html', '//x.org/a.js')).toBeUndefined()
    expect(resolveReference('index.html', 'data:text/css,a')).toBeUndefined()
    expect(resolveReference('index.html', 'react')).toBeUndefined()
  })

  it('follows the module graph and stylesheets breadth first; pages with the same needs share a group', async () => {
    const dir = await site({
      'index.html': PAGE,
      'about.html': PAGE,
      'docs/index.html': '<link rel="stylesheet" href="../css/main.css">',
      'plain.html': '<p>no subresources</p>',
      'css/main.css': '@import "base.css"; h1 { background: url(../bg.png) }',
      'css/base.css': '@font-face { src: url(../fonts/body.woff2) }',
      'css/dark.css': '',
      'fonts/title.woff2': 'f', 'fonts/body.woff2': 'f', 'fonts/inline.woff2': 'f',
      'js/vendor.js': 'export const v = 1',
      'js/classic.js': 'import "./never-followed.js"',
      'js/never-followed.js': '',
      'js/app.js': 'import { v } from "./vendor.js"\nimport { util } from "./lib/util.js"\nexport const start = () => import("./lazy.js")',
      'js/lib/util.js': 'export * from "../deep.js"',
      'js/deep.js': '',
      'js/lazy.js': '',
      'logo.png': 'p', 'bg.png': 'p', 'big.jpg': 'j'
    })
    const listing = await walkSite(dir)
    const table = await scanSubresources(listing.files)
    const paths = (page: string): string[] => {
      const i = listing.files.findIndex((f) => f.path === page)
      const k = table.pages.findIndex((p, n) => n % 2 === 0 && p === i)
      return k < 0 ? [] : table.groups[table.pages[k + 1]!]!.map((j) => listing.files[j]!.path)
    }
    expect(paths('index.html')).toEqual([
      'css/main.css', 'fonts/title.woff2', 'js/vendor.js', 'js/classic.js', 'js/app.js', 'fonts/inline.woff2',
      'css/base.css', 'js/lib/util.js', 'fonts/body.woff2', 'js/deep.js'
    ])
    expect(paths('about.html')).toEqual(paths('index.html'))
    expect(paths('docs/index.html')).toEqual(['css/main.css', 'css/base.css', 'fonts/body.woff2'])
    expect(paths('plain.html')).toEqual([])
    // The second tier: what the scripts name but do not import statically (the dynamic import(); the classic
    // script's import statement, which is not followed in the first tier).
    const likely = (page: string): string[] => {
      const i = listing.files.findIndex((f) => f.path === page)
      const k = (table.likely ?? []).findIndex((p, n) => n % 2 === 0 && p === i)
      return k < 0 ? [] : table.groups[table.likely![k + 1]!]!.map((j) => listing.files[j]!.path)
    }
    expect(likely('index.html')).toEqual(['js/never-followed.js', 'js/lazy.js'])
    expect(likely('docs/index.html')).toEqual([])
    expect(table.groups).toHaveLength(3)
  })
})

describe('the second tier: what a page\'s scripts may load on demand', () => {
  it('takes path-like string literals, not words, URLs or code', () => {
    const src = `require(['vs/editor/main']); f("%%URL%%/Zero.woff"); x='[tex]/cancel'; y = "hello"; z = "https://cdn.x/a.js";` +
      "w = `worker.js`; s = 'two words/x'; t = \"no-slash\"; u = '//host/x.js'"
    expect(pathLiterals(src)).toEqual(['vs/editor/main', '%%URL%%/Zero.woff', '[tex]/cancel', 'worker.js'])
    expect(inlineScripts('<script src="a.js">"x/y"</script><script>go("p/q")</script><script type="text/x-template">"t/u"</script>'))
      .toContain('go("p/q")')
    expect(inlineScripts('<script type="text/x-template">"t/u"</script>')).toBe('')
  })

  it('matches a literal to the files sharing its last segments (implied extensions); ambiguous names match nothing', () => {
    const paths = ['min/vs/editor/main.js', 'min/vs/editor/main.css', 'min/other/main.js', 'a/util.js', 'b/util.js', 'c/util.js', 'fonts/Zero.woff', 'page.html']
    const byName = new Map<string, number[]>()
    paths.forEach((p, i) => { const n = p.split('/').pop()!; byName.set(n, [...(byName.get(n) ?? []), i]) })
    const names = (literal: string): string[] => likelyFiles(literal, byName, paths).map((i) => paths[i]!)
    expect(names('vs/editor/main')).toEqual(['min/vs/editor/main.js', 'min/vs/editor/main.css'])
    expect(names('%%URL%%/Zero.woff')).toEqual(['fonts/Zero.woff'])
    expect(names('lib/util.js')).toEqual([])
    expect(names('x/page.html')).toEqual([])
    expect(names('nothing/here.js')).toEqual([])
  })

  it('records, per page, what its inline scripts name, then the smallest of what its scripts name, within the caps', async () => {
    const languages = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`lang/l${i}/l${i}.js`, `lang ${i}`]))
    const dir = await site({
      'index.html': '<script src="loader.js"></script><script>require(["app/main"])</script>',
      'loader.js': 'var workers = "base/worker/workerMain.js"',
      'app/main.js': `${Object.keys(languages).map((p) => `"${p.slice(0, -3)}"`).join(',')}; load("app/json/jsonMode"); big("data/huge.js"); font('%%URL%%/Zero.woff')`,
      'app/main.css': '@font-face { src: url(../fonts/icons.ttf) }',
      'app/json/jsonMode.js': 'worker("app/json/jsonWorker")',
      'app/json/jsonWorker.js': 'w',
      'base/worker/workerMain.js': 'm',
      'data/huge.js': 'x'.repeat(MAX_PAGE_LIKELY_GUESS_BYTES + 1) + '"data/from-huge.js"',
      'data/from-huge.js': 'h',
      'fonts/Zero.woff': 'f', 'fonts/icons.ttf': 'f', 'unnamed.js': 'u',
      ...languages
    })
    const listing = await walkSite(dir)
    const table = await scanSubresources(listing.files)
    const paths = (pairs: readonly number[] | undefined, page: string): string[] => {
      const i = listing.files.findIndex((f) => f.path === page)
      const k = (pairs ?? []).findIndex((p, n) => n % 2 === 0 && p === i)
      return k < 0 ? [] : table.groups[pairs![k + 1]!]!.map((j) => listing.files[j]!.path)
    }
    expect(paths(table.pages, 'index.html')).toEqual(['loader.js'])
    const likely = paths(table.likely, 'index.html')
    // What the page's inline script names (and the font its stylesheet uses) first, as found; then the guesses (named
    // by its scripts, by theirs), smallest first: a file over the guess cap is left out, but what it names is not.
    expect(likely.slice(0, 3)).toEqual(['app/main.js', 'app/main.css', 'fonts/icons.ttf'])
    expect(likely.slice(3).sort()).toEqual([
      'app/json/jsonMode.js', 'app/json/jsonWorker.js', 'base/worker/workerMain.js', 'data/from-huge.js', 'fonts/Zero.woff', ...Object.keys(languages)
    ].sort())
    const sizes = likely.slice(3).map((p) => listing.files.find((f) => f.path === p)!.length)
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b))
    expect(likely).not.toContain('data/huge.js')
    expect(likely).not.toContain('unnamed.js')
  })
})

describe('publish writes the table into peersite.json', () => {
  it('compact, readable by the loader', async () => {
    const dir = await site({
      'index.html': '<link rel="stylesheet" href="style.css"><script type="module" src="app.js"></script>',
      'style.css': 'body{}',
      'app.js': 'import "./dep.js"',
      'dep.js': ''
    })
    const loaderDir = await makeLoaderDir(join(dir, '..'))
    const result = await publishSite({ dir, out: join(dir, '..', 'out'), trackers: [], loaderDir })
    const text = await readFile(join(dir, '..', 'out', 'peersite.json'), 'utf8')
    // peersite.json is part of every first visit: written without indentation, the table as compact as the rest.
    expect(text).toMatch(/"preload":\{"groups":\[\[\d+,\d+,\d+\]\],"pages":\[\d+,0\]\}/)
    expect(text).not.toMatch(/\n /)
    const manifest = JSON.parse(text)
    expect(manifest).toEqual(JSON.parse(JSON.stringify(result.manifest)))
    expect(preloadTable(manifest).get('index.html')?.map((i) => manifest.files[i].path)).toEqual(['style.css', 'app.js', 'dep.js'])
  })

  it('adds nothing for a site without subresources', async () => {
    const dir = await site({ 'index.html': '<p>hi</p>' })
    const loaderDir = await makeLoaderDir(join(dir, '..'))
    const result = await publishSite({ dir, out: join(dir, '..', 'out'), trackers: [], loaderDir })
    expect('preload' in result.manifest).toBe(false)
  })

  it('gives pages of one folder with the same references (one shared finding, as the threads hand them over) their own needs', async () => {
    // a.html and b.html name each other: each page's needs leave itself out, so the two lists differ although the
    // references are the same; c/ resolves them against another folder.
    const page = '<link rel=preload as=fetch href=a.html><link rel=preload as=fetch href=b.html><link rel=stylesheet href=s.css>'
    const dir = await site({ 'a.html': page, 'b.html': page, 'd.html': page, 's.css': '', 'c/a.html': page, 'c/b.html': page, 'c/s.css': '' })
    const listing = await walkSite(dir)
    const known = new SubresourceRefs()
    const found = { refs: htmlReferences(page), literals: [] }
    for (const f of listing.files) if (f.path.endsWith('.html')) known.took(f.path, 1, found)
    const shared = await scanSubresources(listing.files, known)
    expect(shared).toEqual(await scanSubresources(listing.files))
    const needs = (table: typeof shared, path: string): string[] => {
      const at = table.pages.findIndex((p, k) => k % 2 === 0 && listing.files[p]!.path === path)
      return table.groups[table.pages[at + 1]!]!.map((i) => listing.files[i]!.path)
    }
    expect(needs(shared, 'a.html')).toEqual(['b.html', 's.css'])
    expect(needs(shared, 'b.html')).toEqual(['a.html', 's.css'])
    expect(needs(shared, 'd.html')).toEqual(['a.html', 'b.html', 's.css'])
    expect(needs(shared, 'c/b.html')).toEqual(['c/a.html', 'c/s.css'])
  })
})
