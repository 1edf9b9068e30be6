/**
 * `peersite publish` and the URL rules, as a process: `--spa` and the site's `_redirects` go into peersite.json; a
 * bad `_redirects` line is a warning naming it (the rest applies, as in Netlify's build); a file the worker should
 * not ship, or `--spa` without an index page, is one error line and nothing written.
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cliSandbox, copyHello, runCli } from './helpers.js'

const sandbox = cliSandbox('peersite-rules-')
const { env, fresh } = sandbox
const exists = async (path: string): Promise<boolean> => await stat(path).then(() => true, () => false)

describe('publish with URL rules', () => {
  it('writes --spa and the _redirects rules into peersite.json, and warns about the bad line by number', async () => {
    const site = await copyHello(await fresh())
    await writeFile(join(site, '_redirects'), '# rules\n/old /about.html\n/blog/* /docs/:splat 302\n/x /y 999\n/proxy https://api.example/ 200\n')
    const result = await runCli(['publish', site, '--spa', '--no-seed', '--json', '--tracker', 'ws://127.0.0.1:9'], { env })
    expect(result.code).toBe(0)
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^peersite: warning: _redirects line 4: status "999" is not one of/),
      expect.stringMatching(/^peersite: warning: _redirects line 5: proxying to another site/)
    ])
    const manifest = JSON.parse(await readFile(join(`${site}-peersite`, 'peersite.json'), 'utf8')) as Record<string, unknown>
    expect(manifest.spa).toBe(true)
    expect(manifest.redirects).toEqual([
      { from: '/old', to: '/about.html', status: 301 },
      { from: '/blog/*', to: '/docs/:splat', status: 302 }
    ])
  })

  it('writes neither field for a site without them (older loaders read the same manifest)', async () => {
    const site = await copyHello(await fresh())
    expect((await runCli(['publish', site, '--no-seed', '--json', '--tracker', 'ws://127.0.0.1:9'], { env })).code).toBe(0)
    const manifest = JSON.parse(await readFile(join(`${site}-peersite`, 'peersite.json'), 'utf8')) as Record<string, unknown>
    expect('spa' in manifest || 'redirects' in manifest).toBe(false)
  })

  for (const [label, extra, setup, pattern] of [
    ['--spa without an index.html', ['--spa'], async (site: string) => { await rm(join(site, 'index.html')) }, /--spa needs an index\.html/],
    ['more rules than a visitor should download', [], async (site: string) => {
      await writeFile(join(site, '_redirects'), Array.from({ length: 1001 }, (_, i) => `/r${i} /t${i}`).join('\n'))
    }, /_redirects has more than 1000 rules/],
    ['a _redirects file that is not text', [], async (site: string) => { await writeFile(join(site, '_redirects'), Buffer.from([0xff, 0xfe, 0x00, 0x2f])) }, /not UTF-8 text/]
  ] as const) {
    it(`refuses ${label}: one error line, nothing written`, async () => {
      const dir = await fresh()
      const site = await copyHello(dir)
      await setup(site)
      const result = await runCli(['publish', site, '--no-seed', '--tracker', 'ws://127.0.0.1:9', ...extra], { env })
      expect(result.code).toBe(1)
      expect(result.stdout).toBe('')
      const lines = result.stderr.split('\n').filter((l) => l !== '')
      expect(lines, result.stderr).toHaveLength(1)
      expect(lines[0]).toMatch(/^peersite: error: /)
      expect(lines[0]).toMatch(pattern)
      expect(await exists(`${site}-peersite`)).toBe(false)
    })
  }
})
