/** Shared by the CLI unit tests: a fake loader folder, a copy of examples/hello, and the CLI as a child process. */
import { spawn } from 'node:child_process'
import { chmod, cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { afterAll, beforeAll } from 'vitest'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
export const helloDir = join(repoRoot, 'examples', 'hello')

/** The loader files publish copies, as small stand-ins (the real ones come from `npm run build`). */
export async function makeLoaderDir (parent: string): Promise<string> {
  const dir = join(parent, 'loader')
  await mkdir(dir, { recursive: true })
  for (const name of ['index.html', '404.html', 'sw.js', 'peersite.js', 'peersite-later.js', 'peersite-follow.js', 'peersite-webseed.js']) await writeFile(join(dir, name), `/* fake ${name} */\n`)
  return dir
}

/**
 * A copy of examples/hello plus the dotfiles publish must skip (a `.hidden` file and a `.git/` folder). They are
 * not in examples/hello itself so that the README's `diff -r examples/hello /tmp/copy` after a `get` stays empty.
 */
export async function copyHello (parent: string, name = 'hello'): Promise<string> {
  const dest = join(parent, name)
  await cp(helloDir, dest, { recursive: true })
  await writeFile(join(dest, '.hidden'), 'This dotfile must not be published.\n')
  await mkdir(join(dest, '.git'))
  await writeFile(join(dest, '.git', 'config'), '[core]\n')
  await writeFile(join(dest, 'docs', '.DS_Store'), 'junk')
  return dest
}

let bundled: Promise<string> | undefined

/**
 * The CLI bundled from source with esbuild (dependencies stay external), so the tests run the real entry point as
 * a process without depending on `tsc -b` output. It lives under the repo's gitignored tmp/ so that node_modules
 * and package.json are found by walking up, as from dist/cli/.
 */
export async function cliPath (): Promise<string> {
  bundled ??= (async () => {
    await mkdir(join(repoRoot, 'tmp'), { recursive: true })
    const dir = await mkdtemp(join(repoRoot, 'tmp', 'cli-test-'))
    // Readable by other users too: one test runs the CLI as `nobody` (root can read any file).
    await chmod(dir, 0o755)
    const outfile = join(dir, 'main.mjs')
    await build({
      entryPoints: [join(repoRoot, 'cli', 'main.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent'
    })
    return outfile
  })()
  return await bundled
}

export async function removeBundle (): Promise<void> {
  if (bundled === undefined) return
  const file = await bundled
  await rm(dirname(file), { recursive: true, force: true })
  bundled = undefined
}

export interface RunResult { code: number | null, stdout: string, stderr: string }

export async function runCli (args: string[], opts: { env?: Record<string, string>, cwd?: string, timeoutMs?: number, uid?: number, gid?: number } = {}): Promise<RunResult> {
  const main = await cliPath()
  return await new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [main, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, PEERSITE_DEBUG: '', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {})
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise({ code, stdout, stderr })
    })
  })
}

export interface CliSandbox {
  /** The environment the CLI runs with: PEERSITE_LOADER_DIR points at the fake loader. */
  readonly env: Record<string, string>
  /** The test file's temporary folder (set once beforeAll has run). */
  readonly path: string
  /** The fake loader folder (makeLoaderDir). */
  readonly loaderDir: string
  /** A new empty folder for one case. */
  fresh: () => Promise<string>
}

/**
 * One CLI test file's set-up, registered with vitest's hooks: a temporary folder with a fake loader, the CLI bundle
 * built once, and a fresh folder per case; all removed after the file.
 */
export function cliSandbox (prefix: string): CliSandbox {
  let tmp: TempDir | undefined
  let loaderDir = ''
  let counter = 0
  const env: Record<string, string> = {}
  const path = (): string => {
    if (tmp === undefined) throw new Error('cliSandbox: used before beforeAll ran')
    return tmp.path
  }
  beforeAll(async () => {
    tmp = await makeTempDir(prefix)
    loaderDir = await makeLoaderDir(tmp.path)
    env.PEERSITE_LOADER_DIR = loaderDir
    await cliPath()
  }, 60_000)
  afterAll(async () => {
    await tmp?.cleanup()
    await removeBundle()
  })
  return {
    env,
    get path () { return path() },
    get loaderDir () { return loaderDir },
    fresh: async () => {
      const dir = join(path(), `case-${++counter}`)
      await mkdir(dir)
      return dir
    }
  }
}

/**
 * Runs the CLI with `args` and sends it SIGINT once a staging folder of `dir` whose name starts with `prefix` has
 * files in it (the command is writing its output; give it a big file to copy so that it stays there a while).
 * Resolves with the exit code and stderr; `seen` is false if the command ended before the folder was seen.
 */
export async function interruptWhileStaging (args: string[], dir: string, prefix: string, env: Record<string, string>): Promise<{ seen: boolean, code: number | null, stderr: string }> {
  const child = spawn(process.execPath, [await cliPath(), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  let running = true
  void exited.then(() => { running = false })
  const writing = async (): Promise<boolean> => {
    const staging = (await readdir(dir)).find((n) => n.startsWith(prefix))
    return staging !== undefined && (await readdir(join(dir, staging)).catch(() => [])).length > 0
  }
  while (running && !await writing()) await new Promise((resolve) => setTimeout(resolve, 2))
  const seen = running
  if (seen) child.kill('SIGINT')
  const code = await exited
  return { seen, code, stderr }
}
