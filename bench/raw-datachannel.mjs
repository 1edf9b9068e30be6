/**
 * The raw node-datachannel -> node-datachannel ceiling: one data channel, 16 KiB messages, the sender keeping
 * bufferedAmount under 4 MiB (refilling on `bufferedamountlow`). Nothing can move bytes between two Node
 * peers on this machine faster, so other benchmarks report their throughput as a share of this number,
 * measured in the same run.
 *
 *   sh scripts/in-netns.sh node bench/raw-datachannel.mjs        (BENCH_RAW_MB=64 BENCH_RAW_RUNS=3)
 */
import { fileURLToPath } from 'node:url'
import { assertInNetns } from './lib/env.mjs'
import { envNumber, fmt, markdownTable, mbps, median } from './lib/table.mjs'
import { connectedChannelPair, pumpChannel, RAW_LOW_WATER, RAW_MAX_BUFFERED, RAW_MESSAGE_SIZE } from './lib/webrtc.mjs'


/**
 * Send `bytes` (default 64 MB) over one fresh data channel and time it, first send to last byte received.
 * @param {{ bytes?: number, messageSize?: number, maxBuffered?: number, timeoutMs?: number }} [opts]
 * @returns {Promise<{ bytes: number, ms: number, mbps: number, messageSize: number, setupMs: number }>}
 */
export async function measureRawNodeToNode (opts = {}) {
  assertInNetns()
  const bytes = opts.bytes ?? 64 * 1e6
  const messageSize = opts.messageSize ?? RAW_MESSAGE_SIZE
  const maxBuffered = opts.maxBuffered ?? RAW_MAX_BUFFERED
  const timeoutMs = opts.timeoutMs ?? 120_000
  const setupStart = performance.now()
  const pair = await connectedChannelPair()
  const setupMs = performance.now() - setupStart
  try {
    const { sender, receiver } = pair
    const message = new Uint8Array(messageSize)
    for (let i = 0; i < messageSize; i++) message[i] = i & 0xff

    let received = 0
    let timer
    const done = new Promise((resolve, reject) => {
      receiver.onmessage = (e) => {
        received += e.data.byteLength
        if (received >= bytes) resolve()
      }
      timer = setTimeout(() => reject(new Error(`raw transfer: ${received} of ${bytes} bytes after ${timeoutMs} ms`)), timeoutMs)
    })

    const cpu0 = process.cpuUsage()
    const start = performance.now()
    pumpChannel(sender, bytes, message, maxBuffered)
    await done.finally(() => clearTimeout(timer))
    const ms = performance.now() - start
    const cpu = process.cpuUsage(cpu0)
    // Both ends run in this process: CPU ms per MB of the sender and the receiver together.
    return { bytes, ms, mbps: mbps(bytes, ms), messageSize, setupMs, cpuPerMB: (cpu.user + cpu.system) / 1000 / (bytes / 1e6) }
  } finally {
    pair.close()
  }
}

let ceiling

/**
 * The ceiling in MB/s for ratios: the median measured by run() earlier in this process (run-all runs this
 * file first), else one fresh measurement.
 */
export async function rawCeilingMBps (bytes = 64 * 1e6) {
  ceiling ??= (await measureRawNodeToNode({ bytes })).mbps
  return ceiling
}

/** For bench/run-all.mjs: a few runs and their median. */
export async function run () {
  const mb = envNumber('BENCH_RAW_MB', 64)
  const runs = envNumber('BENCH_RAW_RUNS', 3)
  const results = []
  for (let i = 0; i < runs; i++) results.push(await measureRawNodeToNode({ bytes: Math.round(mb * 1e6) }))
  const rows = results.map((r, i) => [`run ${i + 1}`, fmt(r.bytes / 1e6, 0), fmt(r.ms / 1000, 2), fmt(r.mbps), fmt(r.setupMs, 0)])
  ceiling = median(results.map((r) => r.mbps))
  rows.push(['median', fmt(mb, 0), fmt(median(results.map((r) => r.ms)) / 1000, 2), fmt(median(results.map((r) => r.mbps))), fmt(median(results.map((r) => r.setupMs)), 0)])
  return {
    title: 'Raw data channel ceiling: node-datachannel -> node-datachannel',
    markdown: [
      `One data channel, ${RAW_MESSAGE_SIZE / 1024} KiB messages, bufferedAmount kept under ${RAW_MAX_BUFFERED / 2 ** 20} MiB ` +
        `(refill on bufferedamountlow at ${RAW_LOW_WATER / 2 ** 20} MiB). MB = 10^6 bytes. Setup = offer to channel open.`,
      '',
      markdownTable(['run', 'MB', 'seconds', 'MB/s', 'setup ms'], rows)
    ].join('\n'),
    /** For other benchmarks' ratios. */
    ceilingMBps: median(results.map((r) => r.mbps))
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { title, markdown } = await run()
  console.log(`## ${title}\n\n${markdown}`)
  process.exit(0)
}
