// A setup file (vitest.config.ts): each test worker writes the test it is starting to a file named after its pid, so
// that test/helpers/unfinished-reporter.ts can name the test a dead worker was running (vitest's own test-start
// events travel in batches, and the last ones are lost with the worker).
import { rmSync, writeFileSync } from 'node:fs'
import { afterAll, beforeEach } from 'vitest'
import { currentTestFile } from './unfinished-reporter.js'

const file = currentTestFile(process.pid)

// fullName: the file (relative to the root), its suites and the test, joined by ' > '.
beforeEach((context) => { writeFileSync(file, context.task.fullName) })

afterAll(() => rmSync(file, { force: true }))
