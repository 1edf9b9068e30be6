// A vitest reporter that names what was running when a test worker died.
//
// When a worker process exits in the middle of a file (a native crash, a fatal V8 error, a kill), vitest reports only
// "Worker exited unexpectedly", without the file. This reporter remembers the files that started and did not end,
// and prints them last, where the tail of a CI log shows them, with how each worker process that vitest did not stop
// itself ended (a signal such as SIGSEGV or SIGKILL, or an exit code) and the test it was running (its own record:
// test/helpers/current-test.ts).
import { ChildProcess } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Reporter, TestModule } from 'vitest/node'

/**
 * What scripts/run-tests.mjs reads (from the file named by PEERSITE_TEST_DEATHS) to decide whether the files a dead
 * worker was running may run once more: only when nothing else went wrong.
 */
export interface RunOutcome {
  /** Files that started and never ended. */
  unfinished: string[]
  /** How the worker processes that vitest did not stop ended. */
  deaths: string[]
  /** Files that ended with a failed test or a failed hook. */
  failed: string[]
  /** Errors outside any test, other than vitest's own report of a dead worker. */
  otherErrors: number
}

/** Where a worker's setup file (test/helpers/current-test.ts) writes the test it is starting. */
export function currentTestFile (pid: number): string {
  return join(tmpdir(), `peersite-vitest-current-${pid}`)
}

// vitest stops its workers with SIGTERM; any other end of one of its child processes is worth naming, with the last
// lines it wrote to stderr (a fatal error's message and native stack, e.g. "FATAL ERROR: ..." from N-API, end there).
const deaths: string[] = []
const STDERR_TAIL = 1500
const tails = new WeakMap<ChildProcess, string>()
const emit = ChildProcess.prototype.emit
ChildProcess.prototype.emit = function (this: ChildProcess, event: string | symbol, ...args: unknown[]): boolean {
  const ours = this.spawnargs.some((arg) => arg.includes('vitest'))
  if (ours && event === 'spawn') {
    tails.set(this, '')
    this.stderr?.on('data', (chunk: Buffer | string) => tails.set(this, ((tails.get(this) ?? '') + String(chunk)).slice(-STDERR_TAIL)))
  }
  if (ours && event === 'exit') {
    const [code, signal] = args as [number | null, NodeJS.Signals | null]
    if (signal !== 'SIGTERM' && code !== 0) {
      const tail = (tails.get(this) ?? '').trim()
      let test = ''
      try {
        test = `, in ${readFileSync(currentTestFile(this.pid!), 'utf8')}`
        rmSync(currentTestFile(this.pid!), { force: true })
      } catch {}
      deaths.push(`pid ${this.pid}: ${signal !== null ? `signal ${signal}` : `exit code ${code}`}${test}` +
        (tail === '' ? '' : `; the end of its stderr:\n${tail.split('\n').map((line) => `      ${line}`).join('\n')}`))
    }
  }
  return Reflect.apply(emit, this, [event, ...args]) as boolean
}

export default class UnfinishedReporter implements Reporter {
  #modules = new Set<string>()

  onTestModuleStart (module: TestModule): void {
    this.#modules.add(module.moduleId)
  }

  onTestModuleEnd (module: TestModule): void {
    this.#modules.delete(module.moduleId)
  }

  onTestRunEnd (modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<{ message?: string, cause?: unknown }>): void {
    const out = process.env.PEERSITE_TEST_DEATHS
    if (out !== undefined && out !== '') {
      const outcome: RunOutcome = {
        unfinished: [...this.#modules],
        deaths,
        failed: modules.filter((m) => m.state() === 'failed' && !this.#modules.has(m.moduleId)).map((m) => m.moduleId),
        otherErrors: errors.filter((e) => !/Worker exited unexpectedly|Worker forks emitted error/.test(`${e.message ?? ''} ${String((e.cause as { message?: string } | undefined)?.message ?? '')}`)).length
      }
      writeFileSync(out, JSON.stringify(outcome))
    }
    if (this.#modules.size === 0) return
    const lines = ['', 'Unfinished when the run ended (a worker that died was running these):']
    for (const file of this.#modules) lines.push(`  file: ${file}`)
    for (const death of deaths) lines.push(`  worker ${death}`)
    process.stderr.write(lines.join('\n') + '\n')
  }
}
