/**
 * The published package imports only what it declares. A user's install has `dependencies` and nothing else (no
 * devDependencies, no `overrides`): a built file in the package that imports bittorrent-tracker, parse-torrent or
 * simple-peer works here and fails for every user. scripts/pack-check.sh proves the real install in CI; this is the
 * fast check on every test run. Needs the build (`npm run build`).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>
  name: string
  bin: Record<string, string>
  exports: Record<string, string | { default: string }>
}

/**
 * Imports that may fail, inside try/catch: node-wrtc.ts patches webrtc-polyfill only where some other package
 * installed it; debug (inlined with the tracker server) colours its output with supports-color if present.
 */
const OPTIONAL = new Set(['webrtc-polyfill', 'supports-color'])

function packedFiles (): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' })
  return (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path)
}

/** Bare module specifiers imported (statically, dynamically or with require) by one built JavaScript file. */
export function importedPackages (source: string): Set<string> {
  const names = new Set<string>()
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\b__require\s*\(\s*|\brequire\s*\(\s*)["']([^"'\s]+)["']/g
  for (const [, spec] of source.matchAll(pattern)) {
    if (spec === undefined || spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) continue
    const parts = spec.split('/')
    names.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!)
  }
  return names
}

describe('the published package', () => {
  const files = packedFiles()

  it('ships the bin, the exports and the browser loader, and no test-only code or source maps', () => {
    for (const bin of Object.values(pkg.bin)) expect(files).toContain(bin)
    for (const target of Object.values(pkg.exports)) {
      expect(files).toContain((typeof target === 'string' ? target : target.default).replace(/^\.\//, ''))
    }
    for (const f of ['dist/browser/peersite.js', 'dist/browser/sw.js', 'dist/browser/index.html', 'README.md']) expect(files).toContain(f)
    expect(files.filter((f) => f.endsWith('.map') || f.endsWith('.tsbuildinfo'))).toEqual([])
    expect(files.filter((f) => /engine\/(discovery\/tracker|transport\/simple-peer)\./.test(f))).toEqual([])
  })

  it('has a README whose links work inside the package: to a file it ships, a heading of its own, or a full URL', () => {
    // docs/ is not shipped (docs/HISTORY.md is the project's dated history, 118 KB): the README links to it on GitHub.
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map(([, target]) => target!)
    expect(targets.length).toBeGreaterThan(0)
    const relative = targets.filter((t) => !/^(#|[a-z]+:)/.test(t)).map((t) => t.split('#')[0]!)
    expect(relative.filter((path) => !files.includes(path))).toEqual([])
  })

  it('imports only Node built-ins and its own dependencies', () => {
    const builtins = new Set(builtinModules)
    const undeclared: string[] = []
    for (const file of files.filter((f) => f.endsWith('.js') && !f.startsWith('dist/browser/'))) {
      for (const name of importedPackages(readFileSync(join(root, file), 'utf8'))) {
        if (builtins.has(name) || OPTIONAL.has(name) || name === pkg.name || pkg.dependencies[name] !== undefined) continue
        undeclared.push(`${file}: ${name}`)
      }
    }
    expect(undeclared).toEqual([])
  })

  it('finds the imports it checks (the scanner itself)', () => {
    expect([...importedPackages(`import a from 'ws'\nimport { b } from "@scope/x/y.js"\nconst c = await import('bittorrent-tracker/server')\n` +
      `var d = __require("tty"); import './own.js'; import 'node:fs'`)].sort()).toEqual(['@scope/x', 'bittorrent-tracker', 'tty', 'ws'])
  })
})
