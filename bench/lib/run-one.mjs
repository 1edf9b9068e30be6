/**
 * Runs one benchmark file in this (child) process and sends its `{ title, markdown }` to the parent over IPC.
 * bench/run-all.mjs starts one such process per benchmark, so that nothing one benchmark leaves behind (WebRTC
 * threads, sockets, timers, a warm or cold heap) changes the figures of the next.
 */
import { pathToFileURL } from 'node:url'

const file = process.argv[2]
try {
  const mod = await import(pathToFileURL(file).href)
  if (typeof mod.run !== 'function') {
    process.send({ type: 'skip' })
  } else {
    const { title, markdown } = await mod.run()
    process.send({ type: 'result', title, markdown })
  }
} catch (err) {
  process.send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) })
}
// Benchmarks may leave handles open; the parent has what it needs.
setTimeout(() => process.exit(0), 100)
