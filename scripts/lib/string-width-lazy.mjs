/**
 * yargs and cliui measure text with string-width, whose modules build an Intl.Segmenter (loading ICU's break data)
 * and a /^\p{RGI_Emoji}$/v regular expression (thousands of emoji sequences) as they load: 25-30 ms of CPU at every
 * start of the CLI (README "Where publish time goes"), though only help and error texts are ever measured, and
 * printable ASCII never reaches either. This esbuild plugin (scripts/bundle-cli.mjs) makes each on first use instead.
 * Each is used only through one method, which the stand-in keeps; a string-width version that uses one otherwise
 * fails the build rather than bundling a stand-in that would break.
 */
import { readFile } from 'node:fs/promises'

/** [declaration as string-width writes it, its name, the one method used, the expression that makes it]. */
const LAZY = [
  ['const segmenter = new Intl.Segmenter();', 'segmenter', 'segment', 'new Intl.Segmenter()'],
  ['const rgiEmojiRegex = /^\\p{RGI_Emoji}$/v;', 'rgiEmojiRegex', 'test', '/^\\p{RGI_Emoji}$/v']
]

/** string-width's source with those objects made on first use; `file` names it in errors. */
export function lazyStringWidth (text, file) {
  for (const [declaration, name, method, make] of LAZY) {
    if (!text.includes(declaration)) continue
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '') // comments name them too
    const uses = code.match(new RegExp(`\\b${name}\\b`, 'g'))?.length ?? 0
    const viaMethod = code.split(`${name}.${method}(`).length - 1
    if (uses !== viaMethod + 1) throw new Error(`string-width-lazy: ${file} uses ${name} other than through .${method}(): check the patch`)
    text = text.replace(declaration, `let ${name}Made; const ${name} = { ${method}: (value) => (${name}Made ??= ${make}).${method}(value) };`)
  }
  return text
}

export const stringWidthLazyPlugin = {
  name: 'string-width-lazy',
  setup (b) {
    b.onLoad({ filter: /[\\/]string-width[\\/]index\.js$/ }, async (args) => ({ contents: lazyStringWidth(await readFile(args.path, 'utf8'), args.path), loader: 'js' }))
  }
}
