/**
 * The CLI loads a command's implementation only when that command runs (cli/commands/<verb>.ts holds the options,
 * cli/run/<verb>.ts the rest): `peersite --version` reads no command's code, and `publish --no-seed` never loads
 * WebRTC, the DHT or the tracker bundle, which only seeding and `--local` need. Every module the process resolves is
 * recorded by a module hook. Runs the build in dist/ (`npm run build`), whose entry point has the command-line parser
 * and the commands' options inlined (scripts/bundle-cli.mjs), as publish's implementation has its own modules; both
 * import the error classes from dist/ (one copy), and everything else a command loads only when it runs.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { publishSite } from '../../../cli/lib/publish.js'
import { INDEX_SCRIPT, MANIFEST_FILE, TORRENT_FILE } from '../../../worker/protocol.js'
import { INDEX_DIR } from '../../../worker/site-index.js'
import { writeManyFilesSite } from '../../helpers/many-files.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'
import { copyHello, makeLoaderDir, repoRoot } from './helpers.js'

const MAIN = join(repoRoot, 'dist', 'cli', 'main.js')

/** Packages and modules that only seeding, serving and the tracker need. */
const HEAVY = [/\/node_modules\/node-datachannel\//, /\/node_modules\/bittorrent-dht\//, /\/node_modules\/ws\//, /\/dist\/cli\/lib\/tracker-server\.js$/, /\/dist\/cli\/lib\/bt-network\.js$/, /\/dist\/cli\/lib\/swarm\.js$/]

let tmp: TempDir
let register: string
/** Numbers each run's module log. */
let runs = 0

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`)
  tmp = await makeTempDir('peersite-lazy-')
  const hooks = join(tmp.path, 'hooks.mjs')
  // Written to a file with a synchronous append, not to stderr: the hooks run on their own thread, and what that
  // thread writes to stderr can be lost when the process exits right after (seen with --version on a busy machine).
  await writeFile(hooks, `import { appendFileSync } from 'node:fs'
export async function resolve (spec, ctx, next) {
  const r = await next(spec, ctx)
  if (r.url.startsWith('file:')) appendFileSync(process.env.LAZY_LOAD_LOG, r.url + '\\n')
  return r
}
`)
  register = join(tmp.path, 'register.mjs')
  await writeFile(register, `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)})\n`)
})

afterAll(async () => { await tmp?.cleanup() })

/** Runs the built CLI; resolves to its exit code, stdout and the modules it loaded. */
async function loaded (args: string[], env: Record<string, string> = {}): Promise<{ code: number, stdout: string, modules: string[] }> {
  return await new Promise((resolve) => {
    const log = join(tmp.path, `modules-${++runs}.log`)
    execFile(process.execPath, ['--import', pathToFileURL(register).href, MAIN, ...args], { env: { ...process.env, PEERSITE_DEBUG: '', LAZY_LOAD_LOG: log, ...env }, timeout: 60_000 }, (err, stdout) => {
      readFile(log, 'utf8').catch(() => '').then((text) => {
        resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, modules: text.split('\n').filter((l) => l !== '') })
      }, () => {})
    })
  })
}

describe('the CLI loads a command only when it runs', () => {
  it('--version loads no command implementation and nothing heavy', async () => {
    const { code, stdout, modules } = await loaded(['--version'])
    expect(code).toBe(0)
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
    expect(modules.some((m) => m.endsWith('/dist/cli/main.js'))).toBe(true) // the hook saw the entry point
    expect(modules.filter((m) => m.includes('/dist/cli/run/'))).toEqual([])
    expect(modules.filter((m) => HEAVY.some((re) => re.test(m)))).toEqual([])
  })

  it('publish --no-seed loads publish only, and neither WebRTC, the DHT nor the tracker', async () => {
    const site = await copyHello(tmp.path)
    const loaderDir = await makeLoaderDir(tmp.path)
    const { code, stdout, modules } = await loaded(['publish', site, '--no-seed', '--out', join(tmp.path, 'out')], { PEERSITE_LOADER_DIR: loaderDir })
    expect(code).toBe(0)
    expect(stdout).toContain('infohash:')
    expect([...new Set(modules.filter((m) => m.includes('/dist/cli/run/')).map((m) => m.replace(/.*\/dist\/cli\/run\//, '')))]).toEqual(['publish.js'])
    expect(modules.filter((m) => HEAVY.some((re) => re.test(m)))).toEqual([])
  })

  it('publishing a small site (one thread) loads neither Node\'s worker-thread modules nor perf_hooks', async () => {
    const site = await copyHello(tmp.path, 'hello-small')
    const loaderDir = await makeLoaderDir(tmp.path)
    const report = join(tmp.path, 'builtins.mjs')
    await writeFile(report, `process.on('exit', () => { process.stderr.write('builtins:' + JSON.stringify(process.moduleLoadList.filter((m) => /^NativeModule (worker_threads|perf_hooks)$/.test(m))) + '\\n') })\n`)
    const { code, stderr } = await new Promise<{ code: number, stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', pathToFileURL(report).href, MAIN, 'publish', site, '--no-seed', '--out', join(tmp.path, 'out-small')], { env: { ...process.env, PEERSITE_DEBUG: '', PEERSITE_LOADER_DIR: loaderDir }, timeout: 60_000 }, (err, _stdout, stderr) => {
        resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stderr })
      })
    })
    expect(code).toBe(0)
    expect(stderr.split('\n').filter((l) => l.startsWith('builtins:'))).toEqual(['builtins:[]'])
  })

  it('starts from one file, the command-line parser and the commands\' options inlined, the error classes shared', async () => {
    const { code, modules } = await loaded(['--version'])
    expect(code).toBe(0)
    // yargs' ~60 modules and the entry point's own ~20 cost more to resolve and compile one by one than the rest of
    // start-up (README "Where publish time goes"): the entry point and the error classes are all that is read.
    expect([...new Set(modules)].map((m) => m.replace(/.*\/dist\//, 'dist/')).sort()).toEqual(['dist/cli/main.js', 'dist/engine/errors.js'])
  })

  it('publish loads its implementation as one file, with the entry point\'s error classes (one copy)', async () => {
    const atStart = new Set((await loaded(['--version'])).modules)
    const site = await copyHello(tmp.path, 'hello-one-file')
    const loaderDir = await makeLoaderDir(tmp.path)
    const { code, modules } = await loaded(['publish', site, '--no-seed', '--out', join(tmp.path, 'out-one-file')], { PEERSITE_LOADER_DIR: loaderDir })
    expect(code).toBe(0)
    // scripts/bundle-cli.mjs: resolving, reading and compiling its ~45 modules one by one cost more than running them.
    expect([...new Set(modules.filter((m) => !atStart.has(m)))].map((m) => m.replace(/.*\/dist\//, 'dist/'))).toEqual(['dist/cli/run/publish.js'])
    // A bad folder is a UsageError thrown by the bundle: the entry point knows it as its own class (a stranger's
    // stack would be printed with PEERSITE_DEBUG=1), so it prints one line.
    const failed = await new Promise<{ code: number, stderr: string }>((resolve) => {
      execFile(process.execPath, [MAIN, 'publish', join(tmp.path, 'no-such-folder'), '--no-seed'], { env: { ...process.env, PEERSITE_DEBUG: '1' }, timeout: 60_000 }, (err, _stdout, stderr) => {
        resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stderr })
      })
    })
    expect(failed.code).toBe(1)
    expect(failed.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^peersite: error: folder .*no-such-folder does not exist$/)])
  })

  it('starts without building string-width\'s Intl.Segmenter (only help and error texts are measured)', async () => {
    // scripts/lib/string-width-lazy.mjs: yargs' text measuring made one as it loaded, 10-16 ms of every start.
    const count = join(tmp.path, 'count-segmenters.mjs')
    await writeFile(count, `let made = 0
const Real = Intl.Segmenter
Intl.Segmenter = class extends Real { constructor (...args) { super(...args); made++ } }
process.on('exit', () => { process.stderr.write('segmenters made: ' + made + '\\n') })
`)
    const site = await copyHello(tmp.path, 'hello-segmenter')
    const loaderDir = await makeLoaderDir(tmp.path)
    for (const args of [['--version'], ['publish', site, '--no-seed', '--out', join(tmp.path, 'out-segmenter')]]) {
      const stderr = await new Promise<string>((resolve) => {
        execFile(process.execPath, ['--import', pathToFileURL(count).href, MAIN, ...args], { env: { ...process.env, PEERSITE_LOADER_DIR: loaderDir }, timeout: 60_000 }, (_err, _stdout, stderr) => { resolve(stderr) })
      })
      expect([args[0], stderr.trim()]).toEqual([args[0], 'segmenters made: 0'])
    }
  })

  it('the bundled publish writes what the sources write, on hashing threads too (their program runs from its bundled text)', async () => {
    const site = join(tmp.path, 'many')
    await mkdir(site)
    await writeManyFilesSite(site, 2100) // past PARALLEL_MIN_FILES: a worker lists, hashes and scans
    const loaderDir = await makeLoaderDir(join(tmp.path, 'loader-many'))
    await writeFile(join(loaderDir, INDEX_SCRIPT), '/* fake index */\n')
    const tracker = 'ws://127.0.0.1:9/'
    const fromDist = join(tmp.path, 'out-dist')
    const cli = await new Promise<{ code: number, stdout: string }>((resolve) => {
      execFile(process.execPath, [MAIN, 'publish', site, '--no-seed', '--json', '--tracker', tracker, '--out', fromDist], { env: { ...process.env, PEERSITE_LOADER_DIR: loaderDir }, timeout: 120_000 }, (err, stdout) => {
        resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout })
      })
    })
    expect(cli.code).toBe(0)
    const fromSource = await publishSite({ dir: site, out: join(tmp.path, 'out-source'), trackers: [tracker], loaderDir })
    expect((JSON.parse(cli.stdout) as { infoHash: string }).infoHash).toBe(fromSource.infoHash)
    const files = async (dir: string): Promise<string[]> => (await readdir(dir, { recursive: true })).sort()
    expect(await files(fromDist)).toEqual(await files(fromSource.out))
    for (const name of [TORRENT_FILE, MANIFEST_FILE, ...(await readdir(join(fromDist, INDEX_DIR))).map((n) => join(INDEX_DIR, n))]) {
      expect([name, Buffer.compare(await readFile(join(fromDist, name)), await readFile(join(fromSource.out, name)))]).toEqual([name, 0])
    }
  })
})
