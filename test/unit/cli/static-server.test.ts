/** The --local static server: the loader's rules (Service-Worker header, 404.html as the loader, nosniff). */
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { UsageError } from '../../../engine/errors.js'
import { startStaticServer, type StaticServer } from '../../../cli/lib/static-server.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'

let dir: TempDir | undefined
let server: StaticServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
  await dir?.cleanup()
})

async function start (): Promise<StaticServer> {
  dir = await makeTempDir('peersite-static-')
  const root = join(dir.path, 'out')
  await mkdir(root)
  await writeFile(join(root, 'index.html'), '<p>loader index</p>')
  await writeFile(join(root, '404.html'), '<p>loader 404</p>')
  await writeFile(join(root, 'sw.js'), 'self.addEventListener("fetch", () => {})')
  await writeFile(join(root, 'peersite.js'), 'console.log("loader")')
  await writeFile(join(root, 'peersite.json'), '{"version":1}')
  server = await startStaticServer({ root })
  return server
}

describe('startStaticServer', () => {
  it('serves the output folder on 127.0.0.1 with nosniff', async () => {
    const s = await start()
    expect(s.url).toBe(`http://127.0.0.1:${s.port}/`)
    const home = await fetch(s.url)
    expect(home.status).toBe(200)
    expect(home.headers.get('content-type')).toMatch(/^text\/html/)
    expect(home.headers.get('x-content-type-options')).toBe('nosniff')
    expect(await home.text()).toBe('<p>loader index</p>')
    const script = await fetch(new URL('peersite.js', s.url))
    expect(script.headers.get('content-type')).toMatch(/javascript/)
    expect(script.headers.get('x-content-type-options')).toBe('nosniff')
    const manifest = await fetch(new URL('peersite.json', s.url))
    expect(await manifest.json()).toEqual({ version: 1 })
  })

  it('answers unknown paths with 404.html and status 404 (the loader boots there)', async () => {
    const s = await start()
    for (const path of ['blog/', 'docs/guide/index.html', 'a/b/c.css']) {
      const res = await fetch(new URL(path, s.url))
      expect(res.status).toBe(404)
      expect(res.headers.get('content-type')).toMatch(/^text\/html/)
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(await res.text()).toBe('<p>loader 404</p>')
    }
  })

  it('serves no dotfile or dot-folder of the output folder (a user\'s .git, .env), except .well-known', async () => {
    const s = await start()
    const root = join(dir!.path, 'out')
    await mkdir(join(root, '.git'))
    await writeFile(join(root, '.git', 'config'), 'token')
    await writeFile(join(root, '.env'), 'SECRET=1')
    await mkdir(join(root, 'site', '.well-known'), { recursive: true })
    await writeFile(join(root, 'site', '.well-known', 'security.txt'), 'Contact: x')
    // Windows reads a backslash as a separator; here it is a name's character, which stands in for it.
    await writeFile(join(root, '\\.env'), 'SECRET=2')
    for (const path of ['/.git/config', '/%2egit/config', '/.env', '/site/../.env', '/x/%2e%2e/.env', '/%5c.env']) {
      const res = await fetch(new URL(path, s.url))
      expect([path, res.status]).toEqual([path, 404])
      expect(await res.text()).toBe('<p>loader 404</p>')
    }
    const wellKnown = await fetch(new URL('site/.well-known/security.txt', s.url))
    expect(wellKnown.status).toBe(200)
    expect(await wellKnown.text()).toBe('Contact: x')
  })

  it('answers a Service-Worker: script request only for /sw.js', async () => {
    const s = await start()
    const sw = await fetch(new URL('sw.js', s.url), { headers: { 'Service-Worker': 'script' } })
    expect(sw.status).toBe(200)
    expect(sw.headers.get('content-type')).toMatch(/javascript/)
    expect(sw.headers.get('x-content-type-options')).toBe('nosniff')
    for (const path of ['peersite.js', 'index.html', 'missing.js', 'sw.js/']) {
      const res = await fetch(new URL(path, s.url), { headers: { 'Service-Worker': 'script' } })
      expect(res.status, path).toBe(403)
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    }
    // Without the header the same paths are ordinary files.
    expect((await fetch(new URL('peersite.js', s.url))).status).toBe(200)
  })

  it('keeps a log of the paths requested', async () => {
    const s = await start()
    await fetch(s.url)
    await fetch(new URL('sw.js', s.url))
    await fetch(new URL('nope/x%20y.html', s.url))
    expect(s.requests).toEqual(['/', '/sw.js', '/nope/x y.html'])
  })

  it('refuses a port that is in use', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const address = blocker.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0
    try {
      dir = await makeTempDir('peersite-static-')
      await expect(startStaticServer({ root: dir.path, port })).rejects.toThrow(UsageError)
      await expect(startStaticServer({ root: dir.path, port })).rejects.toThrow(`port ${port} on 127.0.0.1 is already in use`)
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()))
    }
  })
})
