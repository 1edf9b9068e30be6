#!/usr/bin/env node
// The test command's runner: `vitest run` with the given arguments, and one more chance for the files whose worker
// process died mid-file.
//
// A worker that dies (a native crash, e.g. in node-datachannel's threads, or a kill) ends its file with no result,
// and vitest says only "Worker exited unexpectedly". test/helpers/unfinished-reporter.ts names the file, the test
// and the signal. When that is the run's only problem (no failed test, no other error), those files run once more,
// alone, and their result decides; a failed test is never run again. Either way the death is printed, so a log
// always shows it.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const vitest = join(import.meta.dirname, '..', 'node_modules', 'vitest', 'vitest.mjs')
const dir = mkdtempSync(join(tmpdir(), 'peersite-tests-'))
const outcomeFile = join(dir, 'outcome.json')

function run (args) {
  rmSync(outcomeFile, { force: true })
  const result = spawnSync(process.execPath, [vitest, 'run', ...args], {
    stdio: 'inherit',
    env: { ...process.env, PEERSITE_TEST_DEATHS: outcomeFile }
  })
  let outcome
  try { outcome = JSON.parse(readFileSync(outcomeFile, 'utf8')) } catch { outcome = undefined }
  return { status: result.status ?? 1, outcome }
}

// Options must come as --name=value: they are kept for the second run, whose only positional arguments are the files.
const args = process.argv.slice(2)
const options = args.filter((arg) => arg.startsWith('-'))
let { status, outcome } = run(args)
if (status !== 0 && outcome !== undefined && outcome.unfinished.length > 0 && outcome.failed.length === 0 && outcome.otherErrors === 0) {
  process.stderr.write(`\nrun-tests: a test worker died (${outcome.deaths.join('; ') || 'no exit status seen'}) while running ${outcome.unfinished.join(', ')}; running ${outcome.unfinished.length === 1 ? 'that file' : 'those files'} once more\n\n`)
  ;({ status } = run([...options, ...outcome.unfinished]))
  process.stderr.write(`\nrun-tests: the second run of the file${outcome.unfinished.length === 1 ? '' : 's'} a worker died in ${status === 0 ? 'passed' : 'failed'}; the first run's worker death: ${outcome.deaths.join('; ') || 'no exit status seen'}\n`)
}
rmSync(dir, { recursive: true, force: true })
process.exit(status)
