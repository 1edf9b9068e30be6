/**
 * A seeder in its own Node process, as in real life (`peersite seed` on one machine, visitors elsewhere): the
 * benchmarks' visitor then does not share a JavaScript thread with the seeder. Started by startSwarm() with
 * fork() (or by startNetnsSeeder() in a network namespace of its own); arguments arrive as one JSON message; it
 * answers `ready` once announced and `stats` on request.
 *
 * `net` (optional): { dev, address, gateway, ip, uplink, tc } configures this process's own network namespace first (lo up, the
 * veth end the parent moved in, a default route to the parent's namespace): see bench/lib/netns-seeder.mjs. `uplink`
 * (say '20mbit') caps what leaves through that veth end with a token bucket (tc tbf), as a home connection's upload
 * would: the publisher's datagrams then reach the visitors spaced at that rate instead of in loopback bursts.
 */
import { execFileSync } from 'node:child_process'
import { dist } from './swarm.mjs'

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip']

function configureNetwork ({ dev, address, gateway, ip, uplink, tc }) {
  const run = (...args) => execFileSync(ip, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  run('link', 'set', 'lo', 'up')
  run('addr', 'add', address, 'dev', dev)
  run('link', 'set', dev, 'up')
  run('route', 'add', 'default', 'via', gateway, 'dev', dev)
  // A queue of up to 100 ms at the rate, as a modem's buffer holds: beyond it, packets are dropped (congestion loss,
  // which SCTP answers by slowing down).
  if (uplink !== undefined) execFileSync(tc, ['qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', uplink, 'burst', '16kb', 'latency', '100ms'], { stdio: ['ignore', 'ignore', 'inherit'] })
}

/** Debugging aid (OFFLOAD_TRACE=file): every message each peer sends the seeder and what it writes back, timed. */
async function trace (torrent, file, spread) {
  const { appendFileSync } = await import('node:fs')
  const t0 = Date.now()
  const line = (s) => appendFileSync(file, `${Date.now() - t0} ${s}\n`)
  // Why each request was served (engine/spread.ts decide): only source, or which hold ran out, and the copies
  // other connected peers held then.
  if (spread !== undefined) {
    spread.onServe = (peer, index, reason, copies) => line(`${peer.remotePeerIdHex?.slice(16, 24) ?? '?'} serve ${index} ${reason} ${copies}`)
  }
  torrent.on('peer', (peer) => {
    const id = peer.remotePeerIdHex?.slice(16, 24) ?? '?'
    line(`${id} connected`)
    peer.on('message', (m) => line(`${id} <- ${m.type}${m.index !== undefined ? ' ' + m.index : ''}${m.type === 'bitfield' ? ' ' + m.bitfield.reduce((c, b) => c + b.toString(2).replace(/0/g, '').length, 0) : ''}`))
    for (const w of ['writeChoke', 'writeUnchoke']) {
      const orig = peer[w].bind(peer)
      peer[w] = () => { line(`${id} -> ${w.slice(5)}`); orig() }
    }
    const wp = peer.writePieces.bind(peer)
    peer.writePieces = (blocks) => { line(`${id} -> pieces ${blocks.map((b) => b.index).join(',')}`); wp(blocks) }
    peer.on('close', () => line(`${id} closed`))
  })
}

process.once('message', async ({ siteDir, torrent, trackers, rtcConfig, net, announceIntervalMs }) => {
  if (net !== undefined) configureNetwork({ ...net, ip: net.ip ?? IP[0] })
  const { startSeeder } = await dist('cli/lib/swarm.js')
  // Experiments with the seeder's SCTP (libdatachannel's settings, for associations made after this call): after the
  // engine's Node transport has set its own (engine/transport/node-wrtc.ts), which they replace.
  if (process.env.BENCH_SEEDER_SCTP) (await import('node-datachannel')).default.setSctpSettings(JSON.parse(process.env.BENCH_SEEDER_SCTP))
  const { parseInfoDictionary } = await dist('engine/metainfo/index.js')
  const { bdecode, bencode } = await dist('engine/util/bencode.js')
  const info = bencode(bdecode(new Uint8Array(Buffer.from(torrent, 'base64'))).info)
  const metainfo = await parseInfoDictionary(info)
  const warnings = []
  const seeder = await startSeeder({
    metainfo, root: siteDir, trackers, rtcConfig, onWarning: (w) => warnings.push(w),
    ...(announceIntervalMs !== undefined ? { announceIntervalMs } : {})
  })
  if (process.env.OFFLOAD_TRACE) trace(seeder.torrent, process.env.OFFLOAD_TRACE, seeder.spread)
  process.on('message', (msg) => {
    if (msg === 'stats') process.send({ type: 'stats', stats: seeder.stats(), spread: seeder.spread?.stats(), warnings, cpu: process.cpuUsage() })
    if (msg === 'close') void seeder.close().then(() => process.exit(0))
  })
  process.send({ type: 'ready' })
})
// Running means our namespace exists (`unshare -n` made it before it became node): the parent may move a veth in.
process.send({ type: 'started' })
