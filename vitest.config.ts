import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // WebRTC and Chromium tests are heavy on 2 cores: keep files from fighting over the CPU.
    fileParallelism: false,
    pool: 'forks'
  }
})
