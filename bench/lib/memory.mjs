/**
 * Memory of a Chromium launched by bench/lib/chromium.mjs launchChromium(), for the memory benchmarks
 * (bench/download.mjs):
 *   - every process of that browser from /proc (Linux), with its kind read from its command line (--type=,
 *     --utility-sub-type=): resident set (VmRSS, split into RssAnon / RssFile / RssShmem), kernel-tracked peak
 *     (VmHWM), and proportional set size (Pss from smaps_rollup: shared pages divided among the processes that
 *     map them, so the Pss of all processes adds up to the memory they really use, where RSS counts a shared
 *     page once in every process);
 *   - the JS heaps of the page (CDP Performance.getMetrics) and of the service worker (CDP Runtime.getHeapUsage).
 */
import { readFile, readdir } from 'node:fs/promises'

/** What a Chromium process is, from its command line. */
export function processKind (cmdline) {
  const arg = (name) => cmdline.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  const type = arg('type')
  if (type === undefined) return 'browser'
  if (type === 'gpu-process') return 'GPU'
  if (type !== 'utility') return type // renderer, zygote, broker, ...
  const sub = arg('utility-sub-type') ?? ''
  if (sub === 'network.mojom.NetworkService') return 'network service'
  if (sub === 'storage.mojom.StorageService') return 'storage service'
  return `utility (${sub.replace(/\.mojom\.\w+$/, '') || '?'})`
}

const kB = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024

/**
 * The processes of the browser launched with `tag` (bench/lib/chromium.mjs): its browser process and every
 * descendant, from /proc, each with its parent and command line (Chromium rewrites its children's command lines into
 * one space-separated string: split on both). Empty when no such browser runs.
 * @returns {Promise<Array<{ pid: number, ppid: number, cmdline: string[] }>>}
 */
export async function browserProcessTree (tag) {
  const procs = new Map()
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const cmdline = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split(/[\0 ]/).filter(Boolean)
      procs.set(Number(name), { pid: Number(name), ppid, cmdline })
    } catch {}
  }
  const root = [...procs.values()].find((p) => p.cmdline.includes(`--${tag}`) && !p.cmdline.some((a) => a.startsWith('--type=')))
  if (root === undefined) return []
  const tree = new Set([root.pid])
  for (let grew = true; grew;) {
    grew = false
    for (const p of procs.values()) if (!tree.has(p.pid) && tree.has(p.ppid)) { tree.add(p.pid); grew = true }
  }
  return [...tree].map((pid) => procs.get(pid))
}

/**
 * The processes of the browser launched with `tag` (descendants of the browser process), each with its kind and
 * memory in bytes: rss, anon, file, shmem (VmRSS and its parts), hwm (VmHWM), pss (0 where smaps_rollup is not
 * readable).
 * @returns {Promise<Array<{ pid: number, kind: string, rss: number, anon: number, file: number, shmem: number, hwm: number, pss: number }>>}
 */
export async function processTreeMemory (tag) {
  const out = []
  for (const p of await browserProcessTree(tag)) {
    const pid = p.pid
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8')
      const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '')
      out.push({
        pid,
        kind: processKind(p.cmdline),
        rss: kB(status, 'VmRSS'),
        anon: kB(status, 'RssAnon'),
        file: kB(status, 'RssFile'),
        shmem: kB(status, 'RssShmem'),
        hwm: kB(status, 'VmHWM'),
        pss: kB(rollup, 'Pss')
      })
    } catch {}
  }
  return out
}

/**
 * The service worker's JS heap through a CDP session (`cdp`: the browser's, or a page's): Target.attachToTarget
 * (not flattened, since playwright's CDPSession cannot address child sessions) and Runtime.getHeapUsage sent with
 * Target.sendMessageToTarget. Returns a function that samples it (null when no worker target is found).
 */
export async function workerHeapProbe (cdp) {
  const { targetInfos } = await cdp.send('Target.getTargets')
  const target = targetInfos.find((t) => t.type === 'service_worker')
  if (target === undefined) return async () => null
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false })
  let nextId = 1
  const waiting = new Map()
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    if (e.sessionId !== sessionId) return
    const msg = JSON.parse(e.message)
    waiting.get(msg.id)?.(msg.result)
    waiting.delete(msg.id)
  })
  return async () => {
    const id = nextId++
    const result = new Promise((resolve) => { waiting.set(id, resolve); setTimeout(() => resolve(undefined), 2000) })
    await cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) })
    return (await result)?.usedSize ?? null
  }
}

/**
 * Samples a browser's memory every `intervalMs` until stop(): the page's and the worker's JS heap peaks, each
 * process's peak RSS and Pss (by pid, with its kind), and the peaks of the summed RSS and summed Pss of all the
 * processes (with the per-kind split at that moment). stop() takes a last sample, where VmHWM gives each
 * process's exact peak (the kernel's, not limited by the sampling).
 */
export function memorySampler ({ tag, page, worker, intervalMs = 500 }) {
  const peaks = { pageHeap: 0, workerHeap: NaN, sumRss: 0, sumPss: 0, atSumRss: [], atSumPss: [], procs: new Map(), samples: 0 }
  const sample = async () => {
    const metrics = await page?.send('Performance.getMetrics').catch(() => ({ metrics: [] })) ?? { metrics: [] }
    peaks.pageHeap = Math.max(peaks.pageHeap, metrics.metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0)
    const w = await worker?.().catch(() => null)
    if (typeof w === 'number') peaks.workerHeap = Number.isNaN(peaks.workerHeap) ? w : Math.max(peaks.workerHeap, w)
    const procs = await processTreeMemory(tag)
    for (const p of procs) {
      const seen = peaks.procs.get(p.pid)
      peaks.procs.set(p.pid, {
        ...p,
        rssPeak: Math.max(seen?.rssPeak ?? 0, p.rss),
        pssPeak: Math.max(seen?.pssPeak ?? 0, p.pss),
        hwm: Math.max(seen?.hwm ?? 0, p.hwm),
        first: seen?.first ?? p
      })
    }
    const sum = (key) => procs.reduce((s, p) => s + p[key], 0)
    if (sum('rss') > peaks.sumRss) { peaks.sumRss = sum('rss'); peaks.atSumRss = procs }
    if (sum('pss') > peaks.sumPss) { peaks.sumPss = sum('pss'); peaks.atSumPss = procs }
    peaks.samples++
  }
  let running = true
  let loop
  return {
    peaks,
    sample,
    start () {
      loop = (async () => { while (running) { await sample(); await new Promise((resolve) => setTimeout(resolve, intervalMs)) } })()
    },
    async stop () {
      running = false
      await loop
      await sample()
      return peaks
    }
  }
}
