// A vitest reporter that names what was running when a test worker died.
//
// When a worker process exits in the middle of a file (a native crash, a fatal V8 error, a kill), vitest reports only
// "Worker exited unexpectedly", without the file. This reporter remembers the files and tests that started and did
// not end, and prints them last, where the tail of a CI log shows them, with how each worker process that vitest did
// not stop itself ended (a signal such as SIGSEGV or SIGKILL, or an exit code).
import { ChildProcess } from 'node:child_process'
import type { Reporter, TestCase, TestModule } from 'vitest/node'

// vitest stops its workers with SIGTERM; any other end of one of its child processes is worth naming.
const deaths: string[] = []
const emit = ChildProcess.prototype.emit
ChildProcess.prototype.emit = function (this: ChildProcess, event: string | symbol, ...args: unknown[]): boolean {
  if (event === 'exit' && this.spawnargs.some((arg) => arg.includes('vitest'))) {
    const [code, signal] = args as [number | null, NodeJS.Signals | null]
    if (signal !== 'SIGTERM' && code !== 0) deaths.push(`pid ${this.pid}: ${signal !== null ? `signal ${signal}` : `exit code ${code}`}`)
  }
  return Reflect.apply(emit, this, [event, ...args]) as boolean
}

export default class UnfinishedReporter implements Reporter {
  #modules = new Set<string>()
  #cases = new Map<string, string>()

  onTestModuleStart (module: TestModule): void {
    this.#modules.add(module.moduleId)
  }

  onTestModuleEnd (module: TestModule): void {
    this.#modules.delete(module.moduleId)
  }

  onTestCaseReady (test: TestCase): void {
    this.#cases.set(test.id, `${test.module.moduleId} > ${test.fullName}`)
  }

  onTestCaseResult (test: TestCase): void {
    this.#cases.delete(test.id)
  }

  onTestRunEnd (): void {
    if (this.#modules.size === 0 && this.#cases.size === 0) return
    const lines = ['', 'Unfinished when the run ended (a worker that died was running these):']
    for (const file of this.#modules) lines.push(`  file: ${file}`)
    for (const test of this.#cases.values()) lines.push(`  test: ${test}`)
    for (const death of deaths) lines.push(`  worker ${death}`)
    process.stderr.write(lines.join('\n') + '\n')
  }
}
