/**
 * `peersite gateway` (cli/lib/origin-gateway.ts) over HTTP, and `peersite loader --out`: what each host and path
 * gets. The browser side is in test/e2e/gateway.test.ts and gateway-firefox.test.ts.
 */
import { createHash } from 'node:crypto'
import { request } from 'node:http'
import { connect } from 'node:net'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGenericLoader } from '../../../cli/lib/generic-loader.js'
import { ownHostNames, startOriginGateway, type OriginGateway } from '../../../cli/lib/origin-gateway.js'
import { siteIdOf } from '../../../engine/util/site-id.js'
import { spawn, spawnSync } from 'node:child_process'
import { cliPath, cliSandbox, interruptWhileStaging, runCli } from './helpers.js'

const sandbox = cliSandbox('peersite-gateway-cli-')
const INFOHASH = '0123456789abcdef0123456789abcdef01234567'
const ID = siteIdOf(INFOHASH)

/** A stand-in for the built loader: the gateway build's page and script, and sw.js. */
async function fakeLoader (): Promise<string> {
  const dir = join(sandbox.path, 'gw-loader')
  await mkdir(join(dir, 'gateway'), { recursive: true })
  await writeFile(join(dir, 'gateway', 'index.html'), '<!doctype html><html><head><title>x</title></head><body></body></html>\n')
  await writeFile(join(dir, 'gateway', 'peersite.js'), 'export const gateway = () => {}\n')
  await writeFile(join(dir, 'gateway', 'sw.js'), '/* the worker */\n')
  await writeFile(join(dir, 'peersite-later.js'), 'export const later = 1\n')
  return dir
}

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: string }

async function get (gateway: OriginGateway, host: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gateway.port, path, method, headers: { Host: `${host}:${gateway.port}`, ...headers } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('peersite gateway: what each host and path gets', () => {
  let gateway: OriginGateway
  beforeAll(async () => {
    gateway = await startOriginGateway({ trackers: ['ws://127.0.0.1:8000'], rtcConfig: { iceServers: [] }, loaderDir: await fakeLoader() })
  })
  afterAll(async () => { await gateway?.close() })

  it('a site origin gets the loader for every path, with the gateway\'s trackers built in', async () => {
    const home = await get(gateway, `${ID}.localhost`, '/')
    expect(home.status).toBe(200)
    expect(home.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(home.headers['x-content-type-options']).toBe('nosniff')
    expect(home.body).toContain('<script type="application/json" id="peersite-gateway">{"trackers":["ws://127.0.0.1:8000"],"iceServers":[]}</script></head>')
    const deep = await get(gateway, `${ID}.localhost`, '/docs/guide/?x=1')
    expect(deep.status).toBe(200)
    expect(deep.body).toBe(home.body)
    expect(gateway.siteUrl(INFOHASH)).toBe(`http://${ID}.localhost:${gateway.port}/`)
  })

  it('never serves site files: peersite.json and site.torrent are 404 on every origin', async () => {
    for (const path of ['/peersite.json', '/site.torrent']) {
      expect((await get(gateway, `${ID}.localhost`, path)).status).toBe(404)
    }
  })

  it('sw.js is the gateway build of the worker, pinned to this page and script', async () => {
    const sw = await get(gateway, `${ID}.localhost`, '/sw.js')
    expect(sw.status).toBe(200)
    expect(sw.headers['content-type']).toBe('text/javascript; charset=utf-8')
    const [pins, rest] = sw.body.split('\n')
    expect(rest).toBe('/* the worker */')
    const page = (await get(gateway, `${ID}.localhost`, '/')).body
    const script = (await get(gateway, `${ID}.localhost`, '/peersite.js')).body
    const later = (await get(gateway, `${ID}.localhost`, '/peersite-later.js')).body
    expect(later).toBe('export const later = 1\n')
    const pin = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 32)
    expect(pins).toBe(`self.PEERSITE_PINS=${JSON.stringify({ 'index.html': pin(page), 'peersite.js': pin(script), 'peersite-later.js': pin(later) })};`)
  })

  it('only /sw.js may become a worker; only GET and HEAD', async () => {
    expect((await get(gateway, `${ID}.localhost`, '/peersite.js', { 'Service-Worker': 'script' })).status).toBe(403)
    expect((await get(gateway, `${ID}.localhost`, '/sw.js', { 'Service-Worker': 'script' })).status).toBe(200)
    expect((await get(gateway, `${ID}.localhost`, '/', {}, 'POST')).status).toBe(405)
  })

  it('the front page; /<infohash or magnet>[/path] redirects to the site\'s origin', async () => {
    const front = await get(gateway, 'localhost', '/')
    expect(front.status).toBe(200)
    expect(front.body).toContain('id="peersite-gateway"')
    const byHash = await get(gateway, 'localhost', `/${INFOHASH}/docs/?q=1`)
    expect(byHash.status).toBe(302)
    expect(byHash.headers.location).toBe(`http://${ID}.localhost:${gateway.port}/docs/?q=1`)
    expect((await get(gateway, '127.0.0.1', `/${ID}`)).headers.location).toBe(`http://${ID}.localhost:${gateway.port}/`)
    const magnet = `magnet:?xt=urn:btih:${INFOHASH}&tr=${encodeURIComponent('wss://t.example')}`
    const byMagnet = await get(gateway, 'localhost', `/${encodeURIComponent(magnet)}`)
    expect(byMagnet.headers.location).toBe(`http://${ID}.localhost:${gateway.port}/#peersite-tr=${encodeURIComponent('wss://t.example')}`)
    expect((await get(gateway, 'localhost', '/not-a-site')).status).toBe(404)
  })

  it('a site is <id>.localhost and nothing deeper: a nested name is 404 (its page could set cookies for another site)', async () => {
    const other = siteIdOf('ab'.repeat(20))
    for (const host of [`${ID}.${other}.localhost`, `${ID}.x.localhost`, `www.${ID}.localhost`]) {
      for (const path of ['/', '/sw.js', '/peersite.js', `/${INFOHASH}`]) {
        expect((await get(gateway, host, path)).status, `${host}${path}`).toBe(404)
      }
    }
  })

  it('a trailing dot is another origin, not the site\'s (its page would find no site there): 404', async () => {
    for (const path of ['/', '/sw.js', '/peersite.js']) {
      expect((await get(gateway, `${ID}.localhost.`, path)).status, path).toBe(404)
    }
    expect((await get(gateway, 'localhost.', '/')).status).toBe(404)
    expect((await get(gateway, `${ID}.localhost`, '/')).status).toBe(200)
  })

  it('a request target or Host no URL parser takes is a 400 or a 404, never a crash', async () => {
    const status = async (target: string, host: string): Promise<string> =>
      (await raw(gateway, `GET ${target} HTTP/1.1\r\nHost: ${host}:${gateway.port}\r\nConnection: close\r\n\r\n`)).split('\r\n')[0] ?? ''
    // Each of these threw out of the request handler and ended the process: "//..." is a path, not a host.
    for (const target of ['//[', '//a:b']) {
      expect(await status(target, `${ID}.localhost`), target).toBe('HTTP/1.1 200 OK')
      expect(await status(target, 'localhost'), target).toBe('HTTP/1.1 404 Not Found')
    }
    expect(await status('x', 'localhost')).toBe('HTTP/1.1 400 Bad Request')
    expect(await status('*', `${ID}.localhost`)).toBe('HTTP/1.1 400 Bad Request')
    expect((await raw(gateway, `GET /${INFOHASH}/x HTTP/1.1\r\nHost: [\r\nConnection: close\r\n\r\n`)).split('\r\n')[0]).toBe('HTTP/1.1 404 Not Found')
    expect((await get(gateway, 'localhost', '/')).status).toBe(200)
  })

  it('answers its own host names only (localhost, loopback, <id>.localhost), and redirects to them, not to the Host header', async () => {
    for (const host of ['evil.example', `${ID}.evil.example`, '192.0.2.1', 'localhost.evil.example']) {
      for (const path of ['/', `/${INFOHASH}/x`, '/peersite.js', '/sw.js']) {
        const answer = await get(gateway, host, path)
        expect(answer.status, `${host}${path}`).toBe(404)
        expect(answer.headers.location).toBeUndefined()
      }
    }
    for (const host of ['localhost', '127.0.0.1', '[::1]', 'LOCALHOST']) {
      const answer = await get(gateway, host, `/${INFOHASH}/x`)
      expect(answer.headers.location, host).toBe(`http://${ID}.localhost:${gateway.port}/x`)
    }
    expect((await get(gateway, `${ID}.localhost`, '/')).status).toBe(200)
  })
})

it('the --host address is known as a browser writes it: lowercase, IPv6 in brackets and shortest form', () => {
  for (const host of ['2001:DB8::5', '2001:db8:0:0::5', '2001:0db8:0000:0000:0000:0000:0000:0005']) {
    expect(ownHostNames(host), host).toContain('[2001:db8::5]')
  }
  expect(ownHostNames('::FFFF:127.0.0.1')).toContain('[::ffff:7f00:1]')
  expect(ownHostNames('My-Host.Example')).toContain('my-host.example')
  expect(ownHostNames('192.168.1.5')).toContain('192.168.1.5')
  expect([...ownHostNames('0.0.0.0')]).toEqual(['localhost', '127.0.0.1', '[::1]'])
  expect([...ownHostNames('::')]).toEqual(['localhost', '127.0.0.1', '[::1]'])
})

it('builds the trackers into the page as given, whatever "$" patterns they hold (String.replace\'s $&, $\', $`)', async () => {
  const trackers = ['wss://t.example/a?k=$&', "wss://t.example/$'", 'wss://t.example/$`', 'wss://t.example/$$']
  const files = await buildGenericLoader({ trackers, loaderDir: await fakeLoader() })
  const page = files.get('index.html')!.toString()
  const json = /<script type="application\/json" id="peersite-gateway">(.*?)<\/script><\/head>/.exec(page)?.[1]
  expect(JSON.parse(json ?? 'null')).toEqual({ trackers })
})

/** One request written as is (Node's client would refuse some of these), and the whole answer as text. */
async function raw (gateway: OriginGateway, request: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = connect(gateway.port, '127.0.0.1', () => socket.end(request))
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (c: string) => { answer += c })
    socket.on('end', () => resolve(answer))
    socket.on('error', reject)
  })
}

describe('peersite loader --out', () => {
  it('writes the generic loader for a wildcard host, and refuses a folder holding other files', async () => {
    const env = { ...sandbox.env, PEERSITE_LOADER_DIR: await fakeLoader() }
    const out = join(await sandbox.fresh(), 'sites')
    const ok = await runCli(['loader', '--out', out, '--tracker', 'wss://tracker.example'], { env })
    expect(ok.stderr).toBe('')
    expect(ok.code).toBe(0)
    expect((await readdir(out)).sort()).toEqual(['404.html', 'index.html', 'peersite-later.js', 'peersite.js', 'sw.js'])
    const index = await readFile(join(out, 'index.html'), 'utf8')
    expect(index).toContain('{"trackers":["wss://tracker.example"]}')
    expect(await readFile(join(out, '404.html'), 'utf8')).toBe(index)
    expect(await readFile(join(out, 'sw.js'), 'utf8')).toMatch(/^self\.PEERSITE_PINS=\{"index\.html":"[0-9a-f]{32}","peersite\.js":"[0-9a-f]{32}","peersite-later\.js":"[0-9a-f]{32}"\};\n\/\* the worker \*\/\n$/)
    // Again into the same folder: replaced.
    expect((await runCli(['loader', '--out', out], { env })).code).toBe(0)
    expect(await readFile(join(out, 'index.html'), 'utf8')).toContain('wss://tracker.webtorrent.dev')
    // A file added to it since (a GitHub Pages CNAME) is carried over, and said.
    await writeFile(join(out, 'CNAME'), 'sites.example\n')
    const kept = await runCli(['loader', '--out', out], { env })
    expect(kept.code).toBe(0)
    expect(kept.stderr).toBe(`peersite: kept 1 file added to ${out} since it was written: CNAME\n`)
    expect(await readFile(join(out, 'CNAME'), 'utf8')).toBe('sites.example\n')

    const busy = await sandbox.fresh()
    await writeFile(join(busy, 'notes.txt'), 'mine')
    const refused = await runCli(['loader', '--out', busy], { env })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe(`peersite: error: --out ${busy} holds other files (notes.txt): give a new or empty folder\n`)
    expect(await readdir(busy)).toEqual(['notes.txt'])
    const badTracker = await runCli(['loader', '--out', join(busy, 'x'), '--tracker', 'http://nope'], { env })
    expect(badTracker.code).toBe(2)
    expect(badTracker.stderr).toContain('invalid tracker URL')
  }, 60_000)

  it('cleans up after a killed run: its staging folders are removed, the earlier output it moved aside is put back', async () => {
    const env = { ...sandbox.env, PEERSITE_LOADER_DIR: await fakeLoader() }
    const dir = await sandbox.fresh()
    // The pid of a process that has exited: its staging folders are orphans (the second named as earlier versions of
    // `loader` named theirs).
    const dead = spawnSync(process.execPath, ['-e', '0']).pid
    const orphans = [`.sites.peersite-partial-${dead}-AbC123`, `.sites.peersite-partial-${dead}`]
    const live = `.sites.peersite-partial-${process.pid}-XyZ789`
    for (const name of orphans) {
      await mkdir(join(dir, name))
      await writeFile(join(dir, name, 'index.html'), 'half')
    }
    await mkdir(join(dir, live))
    // Killed between its two renames: the earlier output, with a file the user added, is aside and `sites` is gone.
    const aside = join(dir, `.sites.peersite-partial-${dead}-DeF456-old`)
    await mkdir(aside)
    for (const name of ['index.html', '404.html', 'sw.js', 'peersite.js', 'peersite-later.js']) await writeFile(join(aside, name), 'earlier')
    await writeFile(join(aside, 'CNAME'), 'sites.example\n')
    const out = join(dir, 'sites')
    const ok = await runCli(['loader', '--out', out], { env })
    expect(ok.stderr).toBe(`peersite: kept 1 file added to ${out} since it was written: CNAME\n`)
    expect(ok.code).toBe(0)
    expect((await readdir(dir)).sort()).toEqual([live, 'sites'])
    expect(await readFile(join(out, 'CNAME'), 'utf8')).toBe('sites.example\n')
    expect(await readFile(join(out, 'index.html'), 'utf8')).toContain('wss://tracker.webtorrent.dev')
  })
  it('Ctrl-C while it writes leaves the earlier output as it was and removes the staging folder, in one line', async () => {
    const env = { ...sandbox.env, PEERSITE_LOADER_DIR: await fakeLoader() }
    const dir = await sandbox.fresh()
    const out = join(dir, 'sites')
    expect((await runCli(['loader', '--out', out], { env })).code).toBe(0)
    // A file added since, big enough that its copy into the staging folder keeps that folder there for a while.
    await writeFile(join(out, 'big.bin'), Buffer.alloc(48 * 1024 * 1024, 7))
    await writeFile(join(out, 'CNAME'), 'sites.example\n')
    const before = await readFile(join(out, 'index.html'), 'utf8')
    const { seen, code, stderr } = await interruptWhileStaging(['loader', '--out', out, '--tracker', 'wss://other.example'], dir, '.sites.peersite-partial-', env)
    expect(seen, 'the staging folder was never seen').toBe(true)
    expect(code).toBe(130)
    expect(stderr).toBe(`peersite: error: interrupted; nothing was written to ${out}\n`)
    expect(await readdir(dir)).toEqual(['sites'])
    expect(await readFile(join(out, 'index.html'), 'utf8')).toBe(before)
    expect(await readFile(join(out, 'CNAME'), 'utf8')).toBe('sites.example\n')
  }, 60_000)
})

describe('peersite gateway (the command)', () => {
  it('prints its front page address, serves the loader, and stops on SIGINT', async () => {
    const env = { ...process.env, ...sandbox.env, PEERSITE_LOADER_DIR: await fakeLoader() }
    const child = spawn(process.execPath, [await cliPath(), 'gateway', '--port', '0', '--tracker', 'ws://127.0.0.1:9'], { stdio: ['ignore', 'pipe', 'pipe'], env })
    const line = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d
        if (out.includes('\n')) resolve(out.trim())
      })
      child.on('error', reject)
      child.on('exit', () => reject(new Error('gateway exited early')))
    })
    const m = /^gateway on http:\/\/localhost:(\d+)\/ \(each site at http:\/\/<id>\.localhost:\1\/\)$/.exec(line)
    expect(m, line).not.toBeNull()
    const res = await fetch(`http://127.0.0.1:${m![1]}/`)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('{"trackers":["ws://127.0.0.1:9"],"iceServers":[]}')
    const code = await new Promise<number | null>((resolve) => {
      child.removeAllListeners('exit')
      child.on('exit', (c) => resolve(c))
      child.kill('SIGINT')
    })
    expect(code).toBe(0)
  }, 60_000)

  it('refuses a bad tracker and a port in use, in one line', async () => {
    const env = { ...sandbox.env, PEERSITE_LOADER_DIR: await fakeLoader() }
    const bad = await runCli(['gateway', '--tracker', 'https://t.example'], { env })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toBe('peersite: error: invalid tracker URL "https://t.example": must be a ws:// or wss:// URL\n')
    const busy = await startOriginGateway({ trackers: [], loaderDir: await fakeLoader() })
    try {
      const inUse = await runCli(['gateway', '--port', String(busy.port)], { env })
      expect(inUse.code).toBe(1)
      expect(inUse.stderr).toBe(`peersite: error: port ${busy.port} on 127.0.0.1 is already in use\n`)
    } finally {
      await busy.close()
    }
  }, 60_000)
})
