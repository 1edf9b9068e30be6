/**
 * scripts/lib/string-width-lazy.mjs: the CLI's bundle makes string-width's Intl.Segmenter and RGI_Emoji expression
 * on first use instead of as the module loads (25-30 ms of every start, README "Where publish time goes"). The
 * bundled copies must measure every text exactly as the packages do, and build neither object until a text needs
 * them. Each copy of string-width that yargs and its helpers use is bundled twice, with and without the plugin.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build, type Plugin } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error a build script in plain JavaScript, without types
import { lazyStringWidth, stringWidthLazyPlugin } from '../../../scripts/lib/string-width-lazy.mjs'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'
import { repoRoot } from './helpers.js'

/** The packages whose string-width the CLI's bundle inlines (their own copies, different versions). */
const USERS = ['yargs', 'cliui', 'wrap-ansi']

/** ASCII (the fast path), CJK, combining marks, emoji (RGI, keycap, ZWJ family, flag), ANSI colours, controls. */
const TEXTS = ['', 'publish <dir>', 'a\tb', '日本語のテキスト', 'e\u0301te\u0301', '👍', '1️⃣', '#\u20E3', '👨‍👩‍👧‍👦', '🇫🇷', '\u001b[31mred\u001b[39m', 'ｶﾀｶﾅ', '한글', '\u1100\u1161\u11A8', 'x\u200Bx', '☺️ ok']

type Width = (text: string) => number

let tmp: TempDir
const bundles: Array<{ user: string, lazy: Width, plain: Width }> = []
let made = 0
const RealSegmenter = Intl.Segmenter
/** Intl, with its Segmenter replaceable (TypeScript declares it read-only). */
const intl = Intl as { Segmenter: typeof Intl.Segmenter }

async function bundle (user: string, plugins: Plugin[], name: string): Promise<Width> {
  const out = await build({
    stdin: { contents: 'export { default } from \'string-width\'', resolveDir: join(repoRoot, 'node_modules', user), loader: 'js' },
    bundle: true, write: false, platform: 'node', format: 'esm', target: 'node20', logLevel: 'silent', plugins
  })
  const file = join(tmp.path, `${user}-${name}.mjs`)
  await writeFile(file, out.outputFiles[0]!.text)
  return ((await import(pathToFileURL(file).href)) as { default: Width }).default
}

beforeAll(async () => {
  tmp = await makeTempDir('peersite-width-')
  // Counts the segmenters made from here on (the lazy bundles are loaded after this).
  intl.Segmenter = class extends RealSegmenter { constructor (...args: ConstructorParameters<typeof Intl.Segmenter>) { super(...args); made++ } }
  for (const user of USERS) bundles.push({ user, plain: await bundle(user, [], 'plain'), lazy: await bundle(user, [stringWidthLazyPlugin as Plugin], 'lazy') })
})

afterAll(async () => {
  intl.Segmenter = RealSegmenter
  await tmp?.cleanup()
})

describe('string-width, made lazy for the CLI bundle', () => {
  it('every copy the CLI bundles measures every text as the package does', () => {
    for (const { user, lazy, plain } of bundles) {
      for (const text of TEXTS) expect([user, text, lazy(text)]).toEqual([user, text, plain(text)])
    }
  })

  it('builds no segmenter until a text needs one', async () => {
    made = 0
    const lazy = await bundle('yargs', [stringWidthLazyPlugin as Plugin], 'count')
    expect(made).toBe(0) // loading it made none (the package's own module makes one as it loads)
    expect(lazy('plain ascii')).toBe(11)
    expect(made).toBe(0) // printable ASCII needs none
    expect(lazy('日本')).toBe(4)
    expect(made).toBe(1)
    expect(lazy('語')).toBe(2)
    expect(made).toBe(1) // made once, then kept
  })

  it('refuses a string-width that uses them some other way, rather than bundle a broken stand-in', () => {
    const source = 'const segmenter = new Intl.Segmenter();\nexport const s = segmenter;\nexport default (t) => [...segmenter.segment(t)].length\n'
    expect(() => lazyStringWidth(source, 'odd.js')).toThrow(/odd\.js uses segmenter other than through \.segment\(\)/)
    // Named only in a comment: fine.
    const commented = 'const segmenter = new Intl.Segmenter();\n// no segmenter needed for ASCII\nexport default (t) => [...segmenter.segment(t)].length\n'
    expect(lazyStringWidth(commented, 'ok.js')).toContain('segmenterMade ??= new Intl.Segmenter()')
  })
})
