/**
 * The CLI as a process: every bad input prints exactly one line, `peersite: error: ...`, exits non-zero, prints
 * nothing on stdout and writes no output folder.
 */
import { chmod, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { cliPath, cliSandbox, copyHello, interruptWhileStaging, runCli, type RunResult } from './helpers.js'
import { parseSiteId } from '../../../engine/util/site-id.js'
import { PARALLEL_MIN_FILES } from '../../../cli/lib/hash-pool.js'
import { MAX_BAD_MESSAGES, MAX_CONNECTIONS_PER_ADDRESS } from '../../../cli/lib/tracker-server.js'
import { pagePath, writeManyFilesSite } from '../../helpers/many-files.js'

const sandbox = cliSandbox('peersite-cli-')
const { env, fresh } = sandbox

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

/** Exactly one stderr line, naming the problem; nothing on stdout. */
function expectOneError (result: RunResult, pattern: RegExp, code = 1): void {
  expect(result.stdout).toBe('')
  const lines = result.stderr.split('\n').filter((l) => l !== '')
  expect(lines, result.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^peersite: error: /)
  expect(lines[0]).toMatch(pattern)
  expect(result.stderr).not.toMatch(/\n\s+at /)
  expect(result.code).toBe(code)
}

/** The folders a case left behind in `dir`, besides the ones it made itself. */
async function leftovers (dir: string, keep: string[]): Promise<string[]> {
  return (await readdir(dir)).filter((name) => !keep.includes(name)).sort()
}

describe('peersite (no command)', () => {
  it('prints help and the version', async () => {
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    for (const verb of ['publish', 'seed', 'get', 'tracker']) expect(help.stdout).toContain(verb)
    const version = await runCli(['--version'])
    expect(version.code).toBe(0)
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, '../../../package.json'), 'utf8')) as { version: string }
    expect(version.stdout.trim()).toBe(pkg.version)
    const publishHelp = await runCli(['publish', '--help'])
    for (const flag of ['--out', '--tracker', '--piece-length', '--local', '--port', '--no-seed', '--json', '--ice-servers']) {
      expect(publishHelp.stdout).toContain(flag)
    }
    // No command's help shows an empty default: mirror's <sites..> said '[default: []]' (yargs' default for a variadic
    // positional), a repeatable option none.
    for (const command of ['publish', 'seed', 'get', 'serve', 'mirror', 'gateway', 'loader', 'tracker']) {
      const { stdout } = await runCli([command, '--help'])
      expect(stdout, command).toContain('Options:')
      expect(stdout, command).not.toContain('[default: []]')
    }
    expect((await runCli(['mirror', '--help'])).stdout).toMatch(/sites\s+Infohashes[^[]*\[array\] \[required\]\n/)
  })

  it('refuses a missing or unknown command with exit status 2', async () => {
    expectOneError(await runCli([]), /name a command/, 2)
    expectOneError(await runCli(['publsh', 'x']), /^peersite: error: unknown command publsh \(did you mean publish\?\)$/, 2)
    expectOneError(await runCli(['pubish', 'x']), /^peersite: error: unknown command pubish \(did you mean publish\?\)$/, 2)
    expectOneError(await runCli(['frobnicate']), /^peersite: error: unknown command frobnicate \(see peersite --help\)$/, 2)
    // No command and a typo of --version or --help: said as such (before: "name a command").
    expectOneError(await runCli(['--verison']), /^peersite: error: unknown option --verison \(did you mean --version\?\)$/, 2)
    expectOneError(await runCli(['--hlep']), /^peersite: error: unknown option --hlep \(did you mean --help\?\)$/, 2)
    expectOneError(await runCli(['--tracker', 'ws://x']), /name a command/, 2)
    // Within a command, its own help: `peersite --help` lists only the commands.
    expectOneError(await runCli(['publish', 'x', '--bogus']), /^peersite: error: unknown option --bogus \(see peersite publish --help\)$/, 2)
  })

  it('names a missing argument or option as the command\'s usage line does, not in yargs\' words (exit status 2)', async () => {
    // yargs said `Not enough non-option arguments: got 0, need at least 1` and `Missing required argument: out`.
    expectOneError(await runCli(['publish']), /^peersite: error: peersite publish needs <dir> \(see peersite publish --help\)$/, 2)
    expectOneError(await runCli(['mirror']), /^peersite: error: peersite mirror needs <sites> \(see peersite mirror --help\)$/, 2)
    expectOneError(await runCli(['get', 'abc']), /^peersite: error: peersite get needs --out \(see peersite get --help\)$/, 2)
    expectOneError(await runCli(['loader']), /^peersite: error: peersite loader needs --out \(see peersite loader --help\)$/, 2)
  })

  it('names a mistyped option once, with the nearest one of the command (exit status 2)', async () => {
    // yargs said `Unknown arguments: peice-length, peiceLength`: the camelCase copy too, and no suggestion.
    expectOneError(await runCli(['publish', 'x', '--peice-length', '64KiB']), /^peersite: error: unknown option --peice-length \(did you mean --piece-length\?\)$/, 2)
    expectOneError(await runCli(['publish', 'x', '--peiceLength', '64KiB']), /^peersite: error: unknown option --peiceLength \(did you mean --piece-length\?\)$/, 2)
    expectOneError(await runCli(['publish', 'x', '--no-sed']), /^peersite: error: unknown option --no-sed \(did you mean --no-seed\?\)$/, 2)
    expectOneError(await runCli(['seed', 'x', '--chek']), /^peersite: error: unknown option --chek \(did you mean --check\?\)$/, 2)
    // The running command's options only: --keep is mirror's.
    expectOneError(await runCli(['get', 'x', '--out', 'y', '--kep', '2']), /^peersite: error: unknown option --kep \(see peersite get --help\)$/, 2)
    expectOneError(await runCli(['publish', 'a', 'b']), /^peersite: error: unexpected argument b \(see peersite publish --help\)$/, 2)
  })
})

describe('peersite publish', () => {
  it('--no-seed --json prints one JSON object and writes the output folder', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    const result = await runCli(['publish', site, '--no-seed', '--json', '--tracker', 'ws://127.0.0.1:9'], { env })
    expect(result.code).toBe(0)
    expect(result.stdout.endsWith('\n')).toBe(true)
    expect(result.stdout.trim().split('\n')).toHaveLength(1)
    const json = JSON.parse(result.stdout) as Record<string, unknown>
    expect(Object.keys(json).sort()).toEqual(['id', 'infoHash', 'magnetURI', 'out', 'url'])
    expect(json.infoHash).toMatch(/^[0-9a-f]{40}$/)
    // The gateway address label: the infohash in lowercase base32 (RFC 4648), 32 characters.
    expect(json.id).toMatch(/^[a-z2-7]{32}$/)
    expect(parseSiteId(json.id as string)).toMatchObject({ kind: 'infohash', infoHash: json.infoHash })
    expect(json.url).toBeNull()
    expect(json.out).toBe(`${site}-peersite`)
    expect(json.magnetURI).toBe(`magnet:?xt=urn:btih:${String(json.infoHash)}&dn=hello&tr=ws%3A%2F%2F127.0.0.1%3A9`)
    const manifest = JSON.parse(await readFile(join(`${site}-peersite`, 'peersite.json'), 'utf8')) as { infoHash: string }
    expect(manifest.infoHash).toBe(json.infoHash)
  })

  it('--local --no-seed --json announces only to the local tracker and prints its URL', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    const result = await runCli(['publish', site, '--local', '--no-seed', '--json'], { env })
    expect(result.code).toBe(0)
    const json = JSON.parse(result.stdout) as { url: string, magnetURI: string, out: string }
    expect(json.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    const manifest = JSON.parse(await readFile(join(json.out, 'peersite.json'), 'utf8')) as { trackers: string[] }
    expect(manifest.trackers).toHaveLength(1)
    expect(manifest.trackers[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
    expect(json.magnetURI).not.toContain('webtorrent.dev')
  })

  it('--local --no-seed says on its url and tracker lines that they close as publish exits', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    const result = await runCli(['publish', site, '--local', '--no-seed'], { env })
    expect(result.code, result.stderr).toBe(0)
    // Before: the URL and the tracker were printed as if they answered, and were gone once publish had exited.
    expect(result.stdout).toMatch(/^ {2}url: +http:\/\/127\.0\.0\.1:\d+\/ \(closed as publish exits: --no-seed\)$/m)
    expect(result.stdout).toMatch(/^ {2}tracker: +ws:\/\/127\.0\.0\.1:\d+ \(closed as publish exits: --no-seed\)$/m)
  })

  it('prints the infohash, the magnet URI and where to put the folder', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    const result = await runCli(['publish', site, '--no-seed'], { env })
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/infohash: [0-9a-f]{40}/)
    expect(result.stdout).toMatch(/magnet: +magnet:\?xt=urn:btih:[0-9a-f]{40}&dn=hello&tr=wss%3A%2F%2Ftracker.webtorrent.dev/)
    expect(result.stdout).toContain(`upload ${site}-peersite to any static host`)
  })

  it('refuses a missing folder', async () => {
    const dir = await fresh()
    expectOneError(await runCli(['publish', join(dir, 'nope'), '--no-seed'], { env }), /folder .*nope does not exist/)
    expect(await leftovers(dir, [])).toEqual([])
  })

  it('refuses a file given instead of a folder', async () => {
    const dir = await fresh()
    await writeFile(join(dir, 'index.html'), '<h1>hi</h1>')
    expectOneError(await runCli(['publish', join(dir, 'index.html'), '--no-seed'], { env }), /not a folder: .*index\.html/)
    expect(await leftovers(dir, ['index.html'])).toEqual([])
  })

  it('refuses an empty folder, and one with only dotfiles', async () => {
    const dir = await fresh()
    await mkdir(join(dir, 'empty'))
    expectOneError(await runCli(['publish', join(dir, 'empty'), '--no-seed'], { env }), /empty has no files to publish/)
    await mkdir(join(dir, 'dots'))
    await writeFile(join(dir, 'dots', '.htaccess'), 'Deny from all')
    expectOneError(await runCli(['publish', join(dir, 'dots'), '--no-seed'], { env }), /dots has no files to publish/)
    await mkdir(join(dir, 'zero'))
    await writeFile(join(dir, 'zero', 'a.txt'), '')
    expectOneError(await runCli(['publish', join(dir, 'zero'), '--no-seed'], { env }), /only empty files/)
    expect(await leftovers(dir, ['empty', 'dots', 'zero'])).toEqual([])
  })

  it('refuses an unreadable file', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    await chmod(join(site, 'about.html'), 0o000)
    // Root reads any file: as root, run the CLI as `nobody` (the folders on the way must let it in).
    const asRoot = process.getuid?.() === 0
    if (asRoot) for (const p of [sandbox.path, dir]) await chmod(p, 0o755)
    const user = asRoot ? { uid: 65534, gid: 65534 } : {}
    expectOneError(await runCli(['publish', site, '--no-seed'], { env, ...user }), /cannot read about\.html: permission denied/)
    expect(await leftovers(dir, ['hello'])).toEqual([])
  })

  it('refuses a site file that takes a name the loader needs', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    await writeFile(join(site, 'sw.js'), 'self.addEventListener("fetch", () => {})')
    expectOneError(await runCli(['publish', site, '--no-seed'], { env }), /sw\.js at the top of .* is a name the loader needs: rename or move it \(a site's own service worker cannot run under peersite: the loader's worker holds the folder\)$/)
    expect(await leftovers(dir, ['hello'])).toEqual([])
  })

  it('refuses a file that cannot be read (a broken symlink)', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    await symlink('gone.html', join(site, 'broken.html'))
    expectOneError(await runCli(['publish', site, '--no-seed'], { env }), /cannot read broken\.html: broken symlink/)
    expect(await leftovers(dir, ['hello'])).toEqual([])
  })

  it('refuses a symlink that points outside the folder', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    await writeFile(join(dir, 'secret'), 'password')
    await symlink(join(dir, 'secret'), join(site, 'docs', 'secret.txt'))
    expectOneError(await runCli(['publish', site, '--no-seed'], { env }), /symlink docs\/secret\.txt points outside the folder/)
    expect(await leftovers(dir, ['hello', 'secret'])).toEqual([])
  })

  it('refuses an output folder inside the input folder', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    expectOneError(await runCli(['publish', site, '--out', join(site, 'public'), '--no-seed'], { env }), /output folder .*public is inside the input folder/)
    expect(await exists(join(site, 'public'))).toBe(false)
    expectOneError(await runCli(['publish', site, '--out', site, '--no-seed'], { env }), /is inside the input folder/)
  })

  it('refuses an existing output folder that is not a previous peersite output', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    await mkdir(join(dir, 'mine'))
    await writeFile(join(dir, 'mine', 'notes.txt'), 'keep me')
    expectOneError(await runCli(['publish', site, '--out', join(dir, 'mine'), '--no-seed'], { env }), /mine exists and is not a peersite output/)
    expect(await readdir(join(dir, 'mine'))).toEqual(['notes.txt'])
  })

  it('refuses a folder whose peersite.json is not a publish\'s, and deletes nothing in it', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    const proj = join(dir, 'proj')
    await mkdir(join(proj, 'src'), { recursive: true })
    await writeFile(join(proj, 'peersite.json'), '{"name":"my config"}')
    await writeFile(join(proj, 'src', 'app.js'), 'code')
    expectOneError(await runCli(['publish', site, '--out', proj, '--no-seed'], { env }), /proj exists and is not a peersite output \(its peersite\.json is not one peersite wrote\)/)
    expect(await readFile(join(proj, 'src', 'app.js'), 'utf8')).toBe('code')
    expect(await leftovers(dir, ['hello', 'proj'])).toEqual([])
  })

  it('publishing again keeps the files added to the output folder since (a CNAME), and says so', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    const out = join(dir, 'hello-peersite')
    expect((await runCli(['publish', site, '--with-files', '--no-seed'], { env })).code).toBe(0)
    await writeFile(join(out, 'CNAME'), 'example.org\n')
    await mkdir(join(out, '.well-known'))
    await writeFile(join(out, '.well-known', 'security.txt'), 'contact')
    await writeFile(join(out, 'hello', 'extra.txt'), 'added beside the site files')
    // A file the earlier publish wrote and the site no longer has is not carried over.
    await writeFile(join(site, 'gone.txt'), 'soon removed')
    expect((await runCli(['publish', site, '--with-files', '--no-seed'], { env })).code).toBe(0)
    await rm(join(site, 'gone.txt'))
    await writeFile(join(site, 'about.html'), '<p>new</p>')

    const again = await runCli(['publish', site, '--with-files', '--no-seed'], { env })
    expect(again.code).toBe(0)
    expect(again.stderr).toBe(`peersite: kept 3 files added to ${out} since it was written: .well-known/security.txt, CNAME, hello/extra.txt\n`)
    expect(await readFile(join(out, 'CNAME'), 'utf8')).toBe('example.org\n')
    expect(await readFile(join(out, '.well-known', 'security.txt'), 'utf8')).toBe('contact')
    expect(await readFile(join(out, 'hello', 'extra.txt'), 'utf8')).toBe('added beside the site files')
    expect(await readFile(join(out, 'hello', 'about.html'), 'utf8')).toBe('<p>new</p>')
    expect(await exists(join(out, 'hello', 'gone.txt'))).toBe(false)
    // Without --with-files: the loader's files and the site's folder are the earlier publish's; the rest stays.
    const plain = await runCli(['publish', site, '--no-seed'], { env })
    expect(plain.code).toBe(0)
    expect(await exists(join(out, 'hello', 'about.html'))).toBe(false)
    expect(await readFile(join(out, 'CNAME'), 'utf8')).toBe('example.org\n')
    expect(await readFile(join(out, 'hello', 'extra.txt'), 'utf8')).toBe('added beside the site files')
    expect(await leftovers(dir, ['hello', 'hello-peersite'])).toEqual([])
  })

  it('removes its staging folder on Ctrl-C, and the next publish sweeps those a killed one left', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    const out = join(dir, 'hello-peersite')
    expect((await runCli(['publish', site, '--no-seed'], { env })).code).toBe(0)
    const manifest = await readFile(join(out, 'peersite.json'), 'utf8')
    // Big enough that the copy of --with-files keeps the staging folder there for a while.
    await writeFile(join(site, 'big.bin'), Buffer.alloc(48 * 1024 * 1024, 7))
    const { seen, code, stderr } = await interruptWhileStaging(['publish', site, '--with-files', '--no-seed'], dir, '.hello-peersite.tmp-', env)
    expect(seen, 'the staging folder was never seen').toBe(true)
    expect(code).toBe(130)
    expect(stderr).toBe(`peersite: error: interrupted; nothing was written to ${out}\n`)
    expect(await leftovers(dir, ['hello', 'hello-peersite'])).toEqual([])
    expect(await readFile(join(out, 'peersite.json'), 'utf8')).toBe(manifest)
    await rm(join(site, 'big.bin'))

    // What killed publishes left: a dead process's staging folder, one of a version without the process id, and
    // the earlier output moved aside (put back, the output being missing). A live process's is left alone.
    const dead = spawn(process.execPath, ['-e', ''])
    await new Promise((resolve) => dead.on('exit', resolve))
    const moved = join(dir, `.hello-peersite.tmp-${dead.pid}-aB3dE9-old`)
    await rename(out, moved)
    await writeFile(join(moved, 'CNAME'), 'example.org')
    const left = [`.hello-peersite.tmp-${dead.pid}-aB3dE9`, '.hello-peersite.tmp-Zx81Qa', `.hello-peersite.tmp-${process.pid}-qqqqqq`]
    for (const name of left) {
      await mkdir(join(dir, name))
      await writeFile(join(dir, name, 'sw.js'), 'partial')
    }
    const again = await runCli(['publish', site, '--no-seed'], { env })
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toBe(`peersite: kept 1 file added to ${out} since it was written: CNAME\n`)
    expect(await leftovers(dir, ['hello', 'hello-peersite'])).toEqual([`.hello-peersite.tmp-${process.pid}-qqqqqq`])
  }, 60_000)

  it.each([['seed', 'SIGTERM'], ['serve', 'SIGINT']] as const)('%s <site key> stops on the first %s while it waits for the first version', async (command, signal) => {
    const dir = await fresh()
    const address = `magnet:?xs=urn:btpk:${'ab'.repeat(32)}`
    const main = await cliPath()
    const args = [main, command, address, '--tracker', 'ws://127.0.0.1:1', '--no-dht', '--no-tcp', ...(command === 'seed' ? ['--path', join(dir, 'versions')] : ['--port', '0'])]
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    const finding = new Promise<void>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d
        if (stderr.includes('finding the newest version')) resolve()
      })
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    await finding
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    const code = await exited
    clearTimeout(timer)
    // Cut short by the signal: 128 + its number, as a shell reports a process the signal ended.
    expect(code, stderr).toBe(signal === 'SIGINT' ? 130 : 143)
    const reason = signal === 'SIGINT' ? 'interrupted' : 'SIGTERM received'
    expect(stderr.split('\n').filter((l) => l !== '').at(-1)).toBe(`peersite: error: ${reason} (no peer showed a record for this site key)`)
  }, 60_000)

  it('get says where it looks first, then what it waits for: a site key\'s record, not metadata, while that is looked for', async () => {
    const dir = await fresh()
    const dead = ['--tracker', 'ws://127.0.0.1:1', '--no-dht', '--no-tcp', '--ice-servers', 'none', '--timeout', '1']
    const keyed = await runCli(['get', `magnet:?xs=urn:btpk:${'ab'.repeat(32)}`, '--out', join(dir, 'a'), ...dead], { env })
    expect(keyed.code, keyed.stderr).toBe(1)
    // Before: "fetching metadata from peers (0 connected)" came first, and stood for the whole wait for the key's record.
    expect(keyed.stderr.split('\n').slice(0, 2)).toEqual([
      `finding the newest version of magnet:?xs=urn:btpk:${'ab'.repeat(32)} from ws://127.0.0.1:1`,
      'waiting for a peer to show the site key\'s newest version'
    ])
    expect(keyed.stderr).not.toContain('fetching metadata')
    const plain = await runCli(['get', '0123456789abcdef0123456789abcdef01234567', '--out', join(dir, 'b'), ...dead], { env })
    expect(plain.code, plain.stderr).toBe(1)
    expect(plain.stderr.split('\n').slice(0, 2)).toEqual([
      'getting 0123456789abcdef0123456789abcdef01234567 from ws://127.0.0.1:1 (TCP off, DHT off)',
      'fetching metadata from peers (0 connected)'
    ])
  })

  it.each([['SIGINT', 130, 'interrupted'], ['SIGTERM', 143, 'SIGTERM received']] as const)('get cut short by %s exits %i, naming the signal', async (signal, status, reason) => {
    const dir = await fresh()
    const out = join(dir, 'copy')
    const main = await cliPath()
    const args = [main, 'get', '0123456789abcdef0123456789abcdef01234567', '--out', out, '--tracker', 'ws://127.0.0.1:1', '--no-dht', '--no-tcp', '--ice-servers', 'none']
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    const getting = new Promise<void>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d
        if (stderr.includes('getting ')) resolve()
      })
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    await getting
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    const code = await exited
    clearTimeout(timer)
    expect(code, stderr).toBe(status)
    expect(stderr.split('\n').filter((l) => l !== '').at(-1)).toBe(`peersite: error: ${reason} (no metadata received from any peer); nothing was written to ${out}`)
    expect(await leftovers(dir, [])).toEqual([])
  }, 60_000)

  it('refuses to publish again when a file added to the output folder has a path the publish writes', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    const out = join(dir, 'hello-peersite')
    expect((await runCli(['publish', site, '--no-seed'], { env })).code).toBe(0)
    await writeFile(join(out, 'hello'), 'a file where --with-files puts the site')
    const before = (await readdir(out)).sort()
    expectOneError(await runCli(['publish', site, '--with-files', '--no-seed'], { env }), /^peersite: error: hello in output folder .*hello-peersite was not written by peersite, and this run writes that path: move it out of the folder first$/)
    expect((await readdir(out)).sort()).toEqual(before)
    expect(await leftovers(dir, ['hello', 'hello-peersite'])).toEqual([])
  })

  it.each([
    ['ftp://tracker.example.org/announce'],
    ['udp://tracker.example.org'],
    ['not a url'],
    ['ws://']
  ])('refuses the tracker URL %j', async (url) => {
    const dir = await fresh()
    const site = await copyHello(dir)
    expectOneError(await runCli(['publish', site, '--tracker', 'wss://ok.example.org', '--tracker', url, '--no-seed'], { env }),
      /invalid tracker URL .*must be a ws:\/\/, wss:\/\/, http:\/\/, https:\/\/ or udp:\/\/HOST:PORT URL/, 2)
    expect(await leftovers(dir, ['hello'])).toEqual([])
  })

  it('refuses a port that is in use', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const address = blocker.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0
    try {
      expectOneError(await runCli(['publish', site, '--local', '--port', String(port)], { env }), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`))
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()))
    }
    expect(await leftovers(dir, ['hello'])).toEqual([])
  })

  it('refuses a bad --piece-length, --port without --local, and --tracker with --local', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    expectOneError(await runCli(['publish', site, '--piece-length', '1000', '--no-seed'], { env }), /invalid --piece-length "1000"/, 2)
    expectOneError(await runCli(['publish', site, '--port', '8080', '--no-seed'], { env }), /--port .* add --local/, 2)
    expectOneError(await runCli(['publish', site, '--local', '--tracker', 'ws://x.org', '--no-seed'], { env }), /--local announces only to its own tracker/, 2)
    expectOneError(await runCli(['publish', site, '--ice-servers', 'http://x', '--no-seed'], { env }), /invalid --ice-servers entry/, 2)
    expect(await leftovers(dir, ['hello'])).toEqual([])
  })

  it('says to run npm run build when the loader files are missing', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    expectOneError(await runCli(['publish', site, '--no-seed'], { env: { PEERSITE_LOADER_DIR: join(dir, 'no-loader') } }), /run `npm run build`/)
    expect(await leftovers(dir, ['hello'])).toEqual([])
  })
})

describe('peersite publish, a folder big enough to be listed and hashed on threads', () => {
  // From PARALLEL_MIN_FILES files on, lstat and hashing run on worker threads (cli/lib/hash-pool.ts): the errors
  // they meet are the same single line, and nothing is written.
  const big = async (dir: string): Promise<string> => {
    const site = join(dir, 'big')
    await mkdir(site)
    await writeManyFilesSite(site, PARALLEL_MIN_FILES + 50)
    return site
  }

  it('publishes it', async () => {
    const dir = await fresh()
    const site = await big(dir)
    // --no-index: the tests' stand-in loader has no index script (and the pages' preload table is then made from
    // the bytes the threads read).
    const result = await runCli(['publish', site, '--no-seed', '--no-index', '--json'], { env })
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ infoHash: expect.stringMatching(/^[0-9a-f]{40}$/) })
  })

  it('refuses an unreadable file', async () => {
    const dir = await fresh()
    const site = await big(dir)
    await chmod(join(site, pagePath(1234)), 0o000)
    const asRoot = process.getuid?.() === 0
    if (asRoot) for (const p of [sandbox.path, dir]) await chmod(p, 0o755)
    const user = asRoot ? { uid: 65534, gid: 65534 } : {}
    expectOneError(await runCli(['publish', site, '--no-seed', '--no-index'], { env, ...user }), new RegExp(`cannot read ${pagePath(1234).replace(/\./g, '\\.')}: permission denied`))
    expect(await leftovers(dir, ['big'])).toEqual([])
  })

  it('refuses a symlink loop', async () => {
    const dir = await fresh()
    const site = await big(dir)
    await symlink('..', join(site, 'posts', '2003', 'up'))
    expectOneError(await runCli(['publish', site, '--no-seed', '--no-index'], { env }), /symlink loop at posts\/2003\/up/)
    expect(await leftovers(dir, ['big'])).toEqual([])
  })
})

describe('peersite get', () => {
  it.each([
    ['a malformed infohash', ['0123456789abcdef0123456789abcdef0123456']],
    ['a malformed magnet', [`magnet:?xt=urn:btih:${'g'.repeat(40)}`]],
    ['a magnet without an infohash', ['magnet:?dn=site']],
    ['a word', ['xyz']]
  ])('refuses %s', async (_what, args) => {
    const dir = await fresh()
    expectOneError(await runCli(['get', ...args, '--out', join(dir, 'copy')]), /not an infohash, magnet URI or \.torrent file|invalid magnet URI/, 2)
    expect(await leftovers(dir, [])).toEqual([])
  })

  it('says that a .torrent file or a path does not exist (exit 1), rather than that it is no infohash', async () => {
    const dir = await fresh()
    expectOneError(await runCli(['get', 'nonexist.torrent', '--out', join(dir, 'copy')], { cwd: dir }), /^peersite: error: no such file: nonexist\.torrent$/)
    expectOneError(await runCli(['get', join(dir, 'gone', 'site'), '--out', join(dir, 'copy')]), new RegExp(`^peersite: error: no such file: ${join(dir, 'gone', 'site').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`))
    expect(await leftovers(dir, [])).toEqual([])
  })

  it('refuses a garbage .torrent file', async () => {
    const dir = await fresh()
    await writeFile(join(dir, 'site.torrent'), 'd4:infoi42ee')
    expectOneError(await runCli(['get', join(dir, 'site.torrent'), '--out', join(dir, 'copy')]), /not a valid \.torrent file: .*site\.torrent/)
    expect(await leftovers(dir, ['site.torrent'])).toEqual([])
  })

  it('refuses an output folder that is not empty, and a bad tracker or timeout', async () => {
    const dir = await fresh()
    await mkdir(join(dir, 'copy'))
    await writeFile(join(dir, 'copy', 'x'), 'x')
    const hash = '0123456789abcdef0123456789abcdef01234567'
    expectOneError(await runCli(['get', hash, '--out', join(dir, 'copy')]), /output folder .*copy is not empty/)
    expectOneError(await runCli(['get', hash, '--out', join(dir, 'x2'), '--tracker', 'ftp://t.org']), /invalid tracker URL/, 2)
    expectOneError(await runCli(['get', hash, '--out', join(dir, 'x3'), '--timeout', '-1']), /invalid --timeout/, 2)
    expect(await leftovers(dir, ['copy'])).toEqual([])
  })
})

describe('peersite seed', () => {
  it('refuses a folder that no longer matches its torrent, naming the files', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    expect((await runCli(['publish', site, '--no-seed', '--json'], { env })).code).toBe(0)
    await writeFile(join(site, 'app.js'), '// changed\n')
    expectOneError(await runCli(['seed', `${site}-peersite`, '--ice-servers', 'none']), /does not match the torrent: app\.js \(wrong size\)/)
  })

  it('refuses an out folder without a torrent, or whose site folder cannot be found', async () => {
    const dir = await fresh()
    await mkdir(join(dir, 'empty'))
    expectOneError(await runCli(['seed', join(dir, 'empty')]), /has no site\.torrent/)
    const site = await copyHello(dir)
    const out = join(dir, 'custom-out')
    expect((await runCli(['publish', site, '--out', out, '--no-seed', '--json'], { env })).code).toBe(0)
    expectOneError(await runCli(['seed', out]), /pass --path DIR/)
    expectOneError(await runCli(['seed', join(dir, 'nothing-here')]), /nothing-here does not exist/)
  })
})

describe('peersite tracker', () => {
  it('prints its ws://, http:// and udp:// URLs (one port) and stops on SIGINT', async () => {
    const main = await cliPath()
    const child = spawn(process.execPath, [main, 'tracker', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const url = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d
        if (out.split('\n').length > 3) resolve(out.trim())
      })
      child.on('error', reject)
      child.on('exit', () => reject(new Error('tracker exited early')))
    })
    const [ws, http, udp] = url.split('\n')
    expect(ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
    const port = ws!.split(':')[2]
    expect(http).toBe(`http://127.0.0.1:${port}/announce`)
    expect(udp).toBe(`udp://127.0.0.1:${port}`)
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    // A socket closed for its malformed messages is one warning line on stderr, naming its address.
    const socket = new WebSocket(ws!)
    const closed = new Promise<number>((resolve) => socket.once('close', resolve))
    socket.once('open', () => { for (let i = 0; i < MAX_BAD_MESSAGES + 3; i++) socket.send('{') })
    expect(await closed).toBe(1008)
    const code = await new Promise<number | null>((resolve) => {
      child.removeAllListeners('exit')
      child.on('exit', (c) => resolve(c))
      child.kill('SIGINT')
    })
    expect(code).toBe(0)
    expect(stderr.split('\n').filter((line) => line.includes('warning'))).toEqual([
      `peersite: warning: closed a tracker WebSocket from 127.0.0.1 after ${MAX_BAD_MESSAGES} malformed messages`
    ])
  })

  it('--max-connections-per-address: listed with its default, 0 or a whole number, a bad value is one line (exit 2)', async () => {
    const help = await runCli(['tracker', '--help'])
    expect(help.stdout).toMatch(new RegExp(`--max-connections-per-address[^[]*\\[number\\] \\[default: ${MAX_CONNECTIONS_PER_ADDRESS}\\]`))
    for (const value of ['-1', '1.5', '1e400']) {
      expectOneError(await runCli(['tracker', '--port', '0', '--max-connections-per-address', value]),
        new RegExp(`^peersite: error: invalid --max-connections-per-address "(${value}|Infinity)": expected a whole number of connections \\(0: no limit\\)$`), 2)
    }
    expectOneError(await runCli(['tracker', '--port', '0', '--max-connections-per-address', 'many']), /^peersite: error: invalid --max-connections-per-address "many": expected a number$/, 2)
  })
})
