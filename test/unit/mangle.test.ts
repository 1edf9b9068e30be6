/**
 * The browser bundles shorten the property names listed in scripts/mangle.mjs. A listed name that crosses a boundary
 * where the other side reads the written name would break silently in the browser only (and across releases, for
 * postMessage and stored data), so the list is checked here against the boundaries' own types, read with the
 * TypeScript checker: the page/worker messages and peersite.json, stored records and history entries, tracker
 * messages, what the lazily imported bundles export, and the debug handle that tests and benches read.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { MANGLED, browserSources, bundledSources, mangleCache } from '../../scripts/mangle.mjs'

const root = join(import.meta.dirname, '..', '..')

/** The boundary types: [file, type name, whether to follow its properties' types]. */
const BOUNDARY_TYPES: ReadonlyArray<readonly [string, string, boolean]> = [
  ['worker/protocol.ts', 'SiteManifest', true],
  ['worker/protocol.ts', 'PageMessage', true],
  ['worker/protocol.ts', 'WorkerMessage', true],
  ['worker/protocol.ts', 'EngineRequest', true],
  ['worker/protocol.ts', 'EngineReply', true],
  ['worker/site-index.ts', 'SiteIndexRoot', true],
  ['engine/storage/idb.ts', 'SiteRecord', true],
  ['loader/shell-history.ts', 'TopEntry', true],
  ['engine/discovery/websocket-tracker.ts', 'AnnounceMessage', true],
  ['engine/discovery/websocket-tracker.ts', 'AnswerMessage', true],
  ['engine/torrent.ts', 'TorrentStats', true],
  // Read by tests and benches through `window.peersite`: its own fields, and the follower's.
  ['loader/main.ts', 'PeersiteDebug', false],
  ['loader/follow.ts', 'Follower', false]
]
/** What tests and benches read of the debug handle's torrent (`window.peersite.torrent`). */
const DEBUG_TORRENT = ['done', 'destroyed', 'have', 'count', 'metainfo', 'pieceLength', 'infoHash', 'stats', 'peerId', 'book', 'current', 'seq', 'refused']
/** Bundles loaded with import() or importScripts: their exports are read by name. */
const LAZY_MODULES = ['loader/later.ts', 'engine/serving.ts', 'loader/follow.ts', 'loader/webseed.ts', 'worker/index-script.ts']

function boundaryNames (): Set<string> {
  const files = [...new Set([...BOUNDARY_TYPES.map(([f]) => f), ...LAZY_MODULES])].map((f) => join(root, f))
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true, noEmit: true, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts', 'lib.webworker.importscripts.d.ts']
  })
  const checker = program.getTypeChecker()
  const names = new Set<string>(DEBUG_TORRENT)
  const seen = new Set<ts.Type>()
  const isLib = (t: ts.Type): boolean => (t.getSymbol()?.getDeclarations() ?? []).some((d) => program.isSourceFileDefaultLibrary(d.getSourceFile()))
  const visit = (t: ts.Type, deep: boolean): void => {
    if (seen.has(t) || isLib(t)) return
    seen.add(t)
    if (t.isUnionOrIntersection()) { for (const u of t.types) visit(u, deep); return }
    const element = t.getNumberIndexType()
    if (element !== undefined) visit(element, deep)
    for (const p of checker.getPropertiesOfType(t)) {
      names.add(p.getName())
      const decl = p.valueDeclaration ?? p.getDeclarations()?.[0]
      if (deep && decl !== undefined) visit(checker.getTypeOfSymbolAtLocation(p, decl), deep)
    }
  }
  for (const [file, name, deep] of BOUNDARY_TYPES) {
    const source = program.getSourceFile(join(root, file))!
    const decl = source.statements.find((s): s is ts.InterfaceDeclaration | ts.TypeAliasDeclaration =>
      (ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s)) && s.name.text === name)
    expect(decl, `${file}: ${name}`).toBeDefined()
    visit(checker.getTypeAtLocation(decl!.name), deep)
  }
  for (const file of LAZY_MODULES) {
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(join(root, file))!)!
    for (const e of checker.getExportsOfModule(moduleSymbol)) {
      names.add(e.getName())
      // An exported object's keys (worker/index-script.ts indexCode) are read by name too.
      const decl = e.valueDeclaration
      if (decl !== undefined && ts.isVariableDeclaration(decl)) visit(checker.getTypeOfSymbolAtLocation(e, decl), false)
    }
  }
  return names
}

describe('scripts/mangle.mjs: the property names the browser bundles shorten', () => {
  it('lists no name that a boundary reads as written', () => {
    const names = boundaryNames()
    // The check sees the boundaries: names that must never be listed are found.
    for (const known of ['infoHash', 'pieceLength', 'manifest', 'needs', 'serving', 'torrent', 'downloaded', 'offer_id', 'doc', 'lastUsed']) {
      expect(names.has(known), known).toBe(true)
    }
    expect(MANGLED.filter((n) => names.has(n))).toEqual([])
  })

  it('lists no name that the browser code also writes as a string (esbuild leaves quoted names alone)', () => {
    const quoted = new Set<string>()
    const files = ['engine', 'loader', 'worker'].flatMap((d) => ts.sys.readDirectory(join(root, d), ['.ts']))
    for (const file of files) {
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true)
      const walk = (node: ts.Node): void => {
        // Strings in types (Pick<T, 'x'>) are erased; strings in code are what esbuild would not rename.
        if (ts.isTypeNode(node)) return
        if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) quoted.add(node.text)
        node.forEachChild(walk)
      }
      walk(source)
    }
    expect(MANGLED.filter((n) => quoted.has(n))).toEqual([])
  })

  it('gives every listed name its own short name, used nowhere in the browser sources', async () => {
    const sources = await browserSources()
    const cache = mangleCache(sources)
    const shortNames = Object.values(cache)
    expect(Object.keys(cache).sort()).toEqual([...MANGLED].sort())
    expect(new Set(shortNames).size).toBe(shortNames.length)
    const words = new Set<string>()
    for (const file of sources) {
      for (const [word] of readFileSync(join(root, file), 'utf8').matchAll(/[A-Za-z_$][\w$]*/g)) words.add(word)
    }
    expect(shortNames.filter((s) => words.has(s))).toEqual([])
  })

  it('counts the words of the files in the browser bundles only, so that Node-only code does not move their bytes', async () => {
    // Every input of every bundle's metafile, once and sorted; esbuild's own namespaces are no files.
    expect(bundledSources([
      { inputs: { 'loader/main.ts': {}, 'engine/torrent.ts': {}, '(disabled):fs': {} } },
      { inputs: { 'worker/sw.ts': {}, 'engine/torrent.ts': {}, 'node_modules/x/index.js': {} } }
    ])).toEqual(['engine/torrent.ts', 'loader/main.ts', 'node_modules/x/index.js', 'worker/sw.ts'])
    const sources = await browserSources()
    for (const file of ['loader/main.ts', 'loader/later.ts', 'worker/sw.ts', 'engine/torrent.ts', 'engine/serving.ts']) {
      expect(sources, file).toContain(file)
    }
    // The engine's Node-only parts never reach a browser.
    for (const file of ['engine/node.ts', 'engine/transport/node-wrtc.ts', 'engine/transport/tcp.ts', 'engine/extensions/ut_pex.ts']) {
      expect(sources, file).not.toContain(file)
    }
  })
})
