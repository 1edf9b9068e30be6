/**
 * The publisher's seeder in a network namespace of its own, so that its upload can be counted on the wire (the
 * interface's byte counters), not taken from its own report. Runs inside the benchmarks' private namespace
 * (scripts/in-netns.sh) as root:
 *
 *   bench namespace (Chromium, tracker)            seeder namespace (bench/lib/seeder-process.mjs)
 *     v0 10.77.0.1 (default route: Chromium's         lo
 *        host candidates)                               ps<k>b 10.78.<k>.2, default route via 10.78.<k>.1
 *     ps<k>a 10.78.<k>.1  <══════ veth pair ══════>
 *
 * Every byte the seeder sends (WebRTC to the visitors, its WebSocket to the tracker) leaves through ps<k>b and is
 * received on ps<k>a, whose RX counter (/proc/net/dev of this namespace; /sys/class/net shows the machine's) the
 * parent reads. The counters include each packet's Ethernet, IP, UDP, DTLS and SCTP headers. Traffic between
 * visitors never crosses the pair (they share the bench namespace), so the pair counts the publisher alone.
 */
import { execFileSync, fork } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { repoRoot } from './env.mjs'
import { rtcConfig, seederAsker } from './swarm.mjs'

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip'
const UNSHARE = ['/usr/bin/unshare', '/bin/unshare'].find((p) => existsSync(p)) ?? 'unshare'
const NSENTER = ['/usr/bin/nsenter', '/bin/nsenter'].find((p) => existsSync(p)) ?? 'nsenter'
const TC = ['/usr/sbin/tc', '/sbin/tc', '/usr/bin/tc', '/bin/tc'].find((p) => existsSync(p)) ?? 'tc'
let counter = 0

/** Bytes received and sent, and packets received, on interface `dev` of this process's network namespace (/proc/net/dev). */
export async function interfaceBytes (dev) {
  const text = await readFile('/proc/net/dev', 'utf8')
  for (const line of text.split('\n')) {
    const [name, rest] = line.split(':')
    if (name?.trim() !== dev || rest === undefined) continue
    const f = rest.trim().split(/\s+/).map(Number)
    return { rx: f[0], tx: f[8], rxPackets: f[1] }
  }
  throw new Error(`no interface ${dev} in /proc/net/dev`)
}

/**
 * Starts a seeder of `torrent` (the .torrent file's bytes) for the files under `siteDir`, in its own namespace,
 * announcing to `trackerPort` (a tracker of the bench namespace listening on 0.0.0.0, reached at 10.78.<k>.1).
 * Resolves once it has announced. `wireBytes()`: what it has sent so far, counted on the veth pair. `uplink` (say
 * '20mbit'): its upload capped at that rate (bench/lib/seeder-process.mjs).
 */
export async function startNetnsSeeder ({ siteDir, torrent, trackerPort, trackerPath = 'seeder', announceIntervalMs, uplink }) {
  const k = 1 + (counter++ % 250)
  const hostDev = `ps${k}a`
  const seederDev = `ps${k}b`
  const child = fork(join(repoRoot, 'bench', 'lib', 'seeder-process.mjs'), [], {
    execPath: UNSHARE,
    execArgv: ['-n', '--', process.execPath],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const ask = seederAsker(child, exited)
  try {
    await ask(undefined, 'started')
    const ip = (...args) => execFileSync(IP, args, { stdio: ['ignore', 'ignore', 'inherit'] })
    ip('link', 'add', hostDev, 'type', 'veth', 'peer', 'name', seederDev)
    // `unshare -n` has made its namespace before it execs node (same pid): the parent's end moves into it.
    ip('link', 'set', seederDev, 'netns', String(child.pid))
    ip('addr', 'add', `10.78.${k}.1/24`, 'dev', hostDev)
    ip('link', 'set', hostDev, 'up')
    child.send({
      siteDir,
      torrent: Buffer.from(torrent).toString('base64'),
      trackers: [`ws://10.78.${k}.1:${trackerPort}/${trackerPath}`],
      rtcConfig,
      net: { dev: seederDev, address: `10.78.${k}.2/24`, gateway: `10.78.${k}.1`, ip: IP, ...(uplink !== undefined ? { uplink, tc: TC } : {}) },
      ...(announceIntervalMs !== undefined ? { announceIntervalMs } : {})
    })
    await ask(undefined, 'ready')
  } catch (err) {
    child.kill()
    throw err
  }
  const start = await interfaceBytes(hostDev)
  let last = start
  return {
    /** Bytes the seeder has sent since it announced, counted on the wire (RX of our end of the pair). */
    async wireBytes () {
      try { last = await interfaceBytes(hostDev) } catch {} // gone once the seeder exited: its last figure
      return last.rx - start.rx
    },
    /** Packets it has sent, as of the last wireBytes(). */
    wirePackets () { return last.rxPackets - start.rxPackets },
    /** With an `uplink` cap: the packets its queue dropped so far (tc's count in its namespace; SCTP sends them again). */
    queueDrops () {
      if (uplink === undefined) return undefined
      try {
        const text = execFileSync(NSENTER, ['-t', String(child.pid), '-n', TC, '-s', 'qdisc', 'show', 'dev', seederDev], { encoding: 'utf8' })
        return Number(/dropped (\d+)/.exec(text)?.[1] ?? NaN)
      } catch {
        return undefined // the seeder has exited
      }
    },
    /** The seeder's own figures (payload bytes it counted). */
    async stats () { return (await ask('stats', 'stats')).stats },
    /** Why its hold policy served each request (engine/spread.ts SpreadStats; undefined for an older build). */
    async spreadStats () { return (await ask('stats', 'stats')).spread },
    async close () {
      await this.wireBytes()
      child.send('close')
      const timer = setTimeout(() => child.kill(), 5000)
      await exited
      clearTimeout(timer)
    }
  }
}
