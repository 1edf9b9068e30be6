/**
 * CPU time per thread (Linux /proc) of a Chromium launched by bench/lib/chromium.mjs launchChromium() (found by its
 * tag) and of this process (the benchmark, which runs the Node seeder), for CPU-per-MB figures: on a 2-core machine
 * where both ends run, throughput follows the CPU every byte costs, and CPU per MB moves less with the machine's load
 * than MB/s does. A process that exits between two snapshots takes its counts along: snapshot before closing pages.
 */
import { readFile, readdir } from 'node:fs/promises'
import { browserProcessTree, processKind } from './memory.mjs'

const TICK_MS = 1000 / 100 // USER_HZ

/** utime + stime of a /proc stat line, in ms, and the thread's name. */
function parseStat (stat) {
  const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '#')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { comm, ms: (Number(f[11]) + Number(f[12])) * TICK_MS }
}

/**
 * CPU ms so far of every thread of the browser tagged `tag` ('<process kind> <pid> / <thread>'), of this process
 * ('node (bench) / <thread>', the main thread marked ' main') and of the processes `pids` ('seeder <pid> / <thread>':
 * a seeder in a process of its own, bench/lib/process-seeder.mjs).
 * @returns {Promise<Map<string, number>>}
 */
export async function cpuSnapshot (tag, pids = []) {
  const out = new Map()
  const add = (key, ms) => out.set(key, (out.get(key) ?? 0) + ms)
  for (const { pid, cmdline } of await browserProcessTree(tag)) {
    const kind = processKind(cmdline)
    for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [])) {
      try {
        const { comm, ms } = parseStat(await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8'))
        add(`${kind} ${pid} / ${comm}`, ms)
      } catch {}
    }
  }
  for (const pid of pids) {
    for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [])) {
      try {
        const { comm, ms } = parseStat(await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8'))
        add(`seeder ${pid} / ${comm}${tid === String(pid) ? ' main' : ''}`, ms)
      } catch {}
    }
  }
  for (const tid of await readdir('/proc/self/task')) {
    try {
      const { comm, ms } = parseStat(await readFile(`/proc/self/task/${tid}/stat`, 'utf8'))
      add(`node (bench) / ${comm}${tid === String(process.pid) ? ' main' : ''}`, ms)
    } catch {}
  }
  return out
}

/**
 * CPU ms per MB between two snapshots: `chromium` (every process of the browser), `seeder` (the `pids` processes),
 * `node` (this process: playwright's side of the browser, and the seeder or the raw channel's sender when they run
 * here), and the threads over `min` ms/MB, largest first.
 */
export function cpuPerMB (before, after, mb, min = 0.5) {
  let chromium = 0
  let seeder = 0
  let node = 0
  const threads = []
  for (const [key, ms] of after) {
    const d = ms - (before.get(key) ?? 0)
    if (d <= 0) continue
    if (key.startsWith('node (bench)')) node += d
    else if (key.startsWith('seeder ')) seeder += d
    else chromium += d
    if (d / mb >= min) threads.push([key, d / mb])
  }
  threads.sort((a, b) => b[1] - a[1])
  return { chromium: chromium / mb, seeder: seeder / mb, node: node / mb, threads }
}
