#!/usr/bin/env node
/**
 * In the browser bundles, the messages of the engine's peer, tracker and connection errors and of the info
 * dictionary's checks are codes: `new ProtocolError(\`message length ${length} exceeds the limit of ${max}\`)` becomes
 * `new ProtocolError(\`E12 ${length} ${max}\`)`, the code and then the message's values, in order. Those messages reach
 * the console (the torrent's `warning` events, console.debug in loader/engine-host.ts), not a page a person reads (the
 * info dictionary's: see below), and their words cost about 0.44 KB gzipped of every first visit. Node (the CLI, the
 * tests) runs the sources as written, with the words.
 *
 * Which messages: the first argument of `new <Name>Error(...)` when it is a string or template literal, in the
 * files listed in CODED. The info dictionary's checks are among them: in a browser they only see a dictionary that
 * hashes to the site's infohash (loader/engine-host.ts parseTorrentFile compares that first, BEP 9's exchange does
 * for a peer's), which its publisher made and publish checked with the same code; a stale or altered site.torrent is
 * named in words. Not the store's or the reader's messages (the worker's failure page shows them), nor loader/'s
 * (its words are what a visitor sees).
 *
 * The codes are numbered in the order of CODED's files and of the messages in each; the same words
 * share a code. So a code names a message of one version of the sources: to read one from a browser's console,
 *
 *   node scripts/error-codes.mjs E12    (in a checkout of the version that built the loader)
 *   node scripts/error-codes.mjs        every code
 */
import { readFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * The files whose error messages become codes: the browser bundles' peer, tracker and connection code, and the info
 * dictionary's checks (the Node-only trackers and transports are left out, so that editing them does not renumber
 * the codes the browser shows).
 */
export const CODED = [
  'engine/discovery/websocket-tracker.ts', 'engine/download.ts', 'engine/peer-list.ts', 'engine/peer-policy.ts',
  'engine/transport/index.ts', 'engine/transport/webrtc.ts', 'engine/wire/codec.ts', 'engine/wire/extended.ts',
  'engine/wire/peer.ts', 'engine/wire/serving-writes.ts', 'engine/metainfo/index.ts'
]
const isCoded = (path) => CODED.includes(relative(root, path).split('\\').join('/'))

/**
 * Each `new <Name>Error(<literal>, ...)` of a source file: where its message is, its words (a template's values as
 * {0}, {1}, ...) and the source text of its values.
 */
function messages (source, fileName) {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const found = []
  const visit = (node) => {
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text.endsWith('Error') && node.arguments !== undefined && node.arguments.length > 0) {
      const arg = node.arguments[0]
      const at = { start: arg.getStart(file), end: arg.end, line: file.getLineAndCharacterOfPosition(arg.getStart(file)).line + 1 }
      if (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg)) {
        found.push({ ...at, words: arg.text, values: [] })
      } else if (ts.isTemplateExpression(arg)) {
        const words = arg.head.text + arg.templateSpans.map((span, i) => `{${i}}${span.literal.text}`).join('')
        found.push({ ...at, words, values: arg.templateSpans.map((span) => span.expression.getText(file)) })
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  return found
}

/** Every coded message of the sources as they are now: words -> { code, where }. */
export function errorCodeTable () {
  const table = new Map()
  for (const path of CODED.map((file) => join(root, file))) {
    for (const m of messages(readFileSync(path, 'utf8'), path)) {
      if (!table.has(m.words)) table.set(m.words, { code: `E${table.size + 1}`, where: `${relative(root, path)}:${m.line}` })
    }
  }
  return table
}

/** The source with each coded message replaced by its code and values. */
export function codeMessages (source, fileName, table) {
  let out = source
  for (const m of messages(source, fileName).sort((a, b) => b.start - a.start)) {
    const { code } = table.get(m.words)
    const text = m.values.length === 0 ? `'${code}'` : `\`${code}${m.values.map((v) => ` \${${v}}`).join('')}\``
    out = out.slice(0, m.start) + text + out.slice(m.end)
  }
  return out
}

/** The esbuild plugin of the browser bundles (scripts/browser-bundles.mjs). */
export function errorCodesPlugin () {
  let table
  return {
    name: 'error-codes',
    setup (build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (!isCoded(args.path)) return undefined
        table ??= errorCodeTable()
        return { contents: codeMessages(await readFile(args.path, 'utf8'), args.path, table), loader: 'ts' }
      })
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const wanted = process.argv[2]
  for (const [words, { code, where }] of errorCodeTable()) {
    if (wanted === undefined || wanted.toUpperCase() === code) console.log(`${code}  ${words}  (${where})`)
  }
}
