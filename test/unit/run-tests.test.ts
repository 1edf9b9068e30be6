/**
 * scripts/run-tests.mjs (what `npm test` runs): the files whose worker process died mid-file run once more, and only
 * when that is the run's only problem; a failed test is never run again; the death is printed with its file, test,
 * signal and the end of the worker's stderr (test/helpers/unfinished-reporter.ts). Runs a small fixture suite
 * (test/fixtures/run-tests) whose workers die, fail or pass on purpose.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'

const root = join(import.meta.dirname, '..', '..')
const fixtures = join(root, 'test', 'fixtures', 'run-tests')

let dir: TempDir | undefined
afterEach(async () => { await dir?.cleanup(); dir = undefined })

/** Runs run-tests.mjs over the fixture files matching `pattern` (a glob without the `.fixture.ts` ending). */
async function runTests (pattern: string): Promise<{ status: number | null, output: string }> {
  dir = await makeTempDir()
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'run-tests.mjs'), `--config=${join(fixtures, 'vitest.config.ts')}`, `--root=${fixtures}`], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, RUN_TESTS_FIXTURES: pattern, RUN_TESTS_MARKER: join(dir.path, 'died'), NO_COLOR: '1', FORCE_COLOR: '0' },
    timeout: 60_000
  })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

describe('scripts/run-tests.mjs', () => {
  it('runs the file a worker died in once more, and passes when it passes then', async () => {
    const { status, output } = await runTests('{dies-once,passes}')
    expect(output).toMatch(/file: .*dies-once\.fixture\.ts/)
    expect(output).toMatch(/signal SIGSEGV, in .*dies-once\.fixture\.ts > the worker dies here, the first time only; the end of its stderr:\n\s+dies-once: the last words before the crash/)
    expect(output).toMatch(/running that file once more/)
    expect(output).toMatch(/the second run of the file a worker died in passed/)
    // Only the dead worker's file runs again.
    expect(output.match(/passes\.fixture\.ts/g)).toHaveLength(1)
    expect(status).toBe(0)
  })

  it('fails when the file dies again', async () => {
    const { status, output } = await runTests('dies-always')
    expect(output).toMatch(/signal SIGABRT/)
    expect(output).toMatch(/the second run of the file a worker died in failed/)
    expect(status).not.toBe(0)
  })

  it('never runs anything again when a test failed', async () => {
    const { status, output } = await runTests('{dies-once,fails}')
    expect(output).toMatch(/file: .*dies-once\.fixture\.ts/)
    expect(output).not.toMatch(/once more/)
    expect(status).not.toBe(0)
  })

  it('a failed test alone: its status, nothing run again', async () => {
    const { status, output } = await runTests('fails')
    expect(output).not.toMatch(/once more|Unfinished/)
    expect(status).not.toBe(0)
  })
})
