import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // WebRTC and Chromium tests are heavy on 2 cores: keep files from fighting over the CPU.
    fileParallelism: false,
    pool: 'forks',
    // 'default' plus a last word naming the file and test a dying worker was running (vitest alone says only
    // "Worker exited unexpectedly").
    reporters: ['default', './test/helpers/unfinished-reporter.ts'],
    setupFiles: ['./test/helpers/current-test.ts']
  }
})
