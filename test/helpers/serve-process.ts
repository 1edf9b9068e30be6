/**
 * `peersite serve` as a child process, the way a user runs it (the CLI bundled from source: see cliPath), for the
 * integration tests that talk to it over HTTP: fetch (serve.test.ts) and a real media player (serve-mpv.test.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { cliPath } from '../unit/cli/helpers.js'

export interface ServeProcess {
  /** http://127.0.0.1:PORT/ as the command printed it. */
  readonly url: string
  readonly child: ChildProcess
  /** Everything it wrote on stderr so far: status lines, warnings, and with --log-requests one line per request. */
  stderr (): string
  /** Ctrl-C (SIGINT); resolves with the exit code. Safe to call twice. */
  stop (): Promise<number | null>
}

/** Starts `peersite serve <source> --port 0 ...args` and resolves once it prints its address. */
export async function startServeProcess (source: string, args: string[] = [], timeoutMs = 30_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [await cliPath(), 'serve', source, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let url: string
  try {
    url = await new Promise<string>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`serve printed no address within ${timeoutMs} ms: ${stderr}`)), timeoutMs)
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d
        const m = /^serving .* on (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out)
        if (m !== null) {
          clearTimeout(timer)
          resolve(m[1]!)
        }
      })
      child.once('error', reject)
      void exited.then((code) => reject(new Error(`serve exited early (${code}): ${stderr}`)))
    })
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  child.stdout!.resume()
  return {
    url,
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
      return await exited
    }
  }
}
