/**
 * Folders the CLI creates get the default mode, 0777 minus the umask, as any other tool would give them: `get`
 * downloads into a staging folder that becomes --out (mkdtemp made it 0700), and publish's output (a fixed 0755,
 * whatever the umask).
 */
import { spawn } from 'node:child_process'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startWebSeedServer, type WebSeedServer } from '../../helpers/web-seed-server.js'
import { cliPath, cliSandbox, copyHello, type RunResult } from './helpers.js'

const { env, fresh } = cliSandbox('peersite-mode-')
const servers: WebSeedServer[] = []
afterAll(async () => { for (const s of servers) await s.close() })

/** The CLI run by a shell that sets `umask` first. */
async function runWithUmask (umask: string, args: string[]): Promise<RunResult> {
  const main = await cliPath()
  return await new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, main, ...args], {
      env: { ...process.env, PEERSITE_DEBUG: '', ...env }, stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

async function filesOf (root: string, dir = root, out = new Map<string, Uint8Array>()): Promise<Map<string, Uint8Array>> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) await filesOf(root, path, out)
    else out.set(relative(root, path), await readFile(path))
  }
  return out
}

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777

describe('folders the CLI creates have the default mode', () => {
  it.each([['022', 0o755], ['027', 0o750]] as const)('umask %s: get --out and publish --out get 0777 minus it', async (umask, expected) => {
    const dir = await fresh()
    const site = await copyHello(dir)
    // A web seed over HTTP on 127.0.0.1 gives `get` the site with no peer (BEP 19: <url><name>/<path>).
    const files = new Map([...(await filesOf(site))].map(([p, b]) => [`/hello/${p}`, b]))
    const seed = await startWebSeedServer(files)
    servers.push(seed)
    const out = join(dir, 'published')
    const published = await runWithUmask(umask, ['publish', site, '--out', out, '--no-seed', '--tracker', 'ws://127.0.0.1:9', '--web-seed', seed.url])
    expect(published.code, published.stderr).toBe(0)
    expect(await modeOf(out)).toBe(expected)

    const got = join(dir, 'got')
    const result = await runWithUmask(umask, ['get', join(out, 'site.torrent'), '--out', got, '--tracker', 'ws://127.0.0.1:9', '--no-dht', '--no-tcp', '--ice-servers', 'none', '--timeout', '50'])
    expect(result.code, result.stderr).toBe(0)
    expect(await readFile(join(got, 'index.html'))).toEqual(await readFile(join(site, 'index.html')))
    expect(await modeOf(got)).toBe(expected)
    expect(await modeOf(join(got, 'docs', 'guide'))).toBe(expected)
  }, 120_000)
})
