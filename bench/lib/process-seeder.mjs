/**
 * A seeder of a published site in a Node process of its own (bench/lib/seeder-process.mjs), in this network
 * namespace: for startLocalSite's `seed` option. The benchmark's process then holds playwright alone, whose work
 * grows with what the pages do (DevTools events for every chunk of a response body), and the seeder's CPU is its own
 * (bench/lib/cpu.mjs cpuSnapshot's `pids`).
 */
import { fork } from 'node:child_process'
import { join } from 'node:path'
import { repoRoot } from './env.mjs'
import { rtcConfig, seederAsker } from './swarm.mjs'

/** @returns {Promise<{ pid: number, stats: () => Promise<any>, close: () => Promise<void> }>} */
export async function startProcessSeeder ({ siteDir, torrent, trackers }) {
  const child = fork(join(repoRoot, 'bench', 'lib', 'seeder-process.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const ask = seederAsker(child, exited)
  try {
    await ask(undefined, 'started')
    child.send({ siteDir, torrent: Buffer.from(torrent).toString('base64'), trackers, rtcConfig })
    await ask(undefined, 'ready')
  } catch (err) {
    child.kill()
    throw err
  }
  return {
    pid: child.pid,
    async stats () { return (await ask('stats', 'stats')).stats },
    async close () {
      child.send('close')
      const timer = setTimeout(() => child.kill(), 5000)
      await exited
      clearTimeout(timer)
    }
  }
}
