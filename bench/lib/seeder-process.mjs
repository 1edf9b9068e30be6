/**
 * A seeder in its own Node process, as in real life (`peersite seed` on one machine, visitors elsewhere): the
 * benchmarks' visitor then does not share a JavaScript thread with the seeder. Started by startSwarm() with
 * fork(); arguments arrive as one JSON message; it answers `ready` once announced and `stats` on request.
 */
import { dist } from './swarm.mjs'

process.once('message', async ({ siteDir, torrent, trackers, rtcConfig }) => {
  const { startSeeder } = await dist('cli/lib/swarm.js')
  const { parseInfoDictionary } = await dist('engine/metainfo/index.js')
  const { bdecode, bencode } = await dist('engine/util/bencode.js')
  const info = bencode(bdecode(new Uint8Array(Buffer.from(torrent, 'base64'))).info)
  const metainfo = await parseInfoDictionary(info)
  const warnings = []
  const seeder = await startSeeder({ metainfo, root: siteDir, trackers, rtcConfig, onWarning: (w) => warnings.push(w) })
  process.on('message', (msg) => {
    if (msg === 'stats') process.send({ type: 'stats', stats: seeder.stats(), warnings })
    if (msg === 'close') void seeder.close().then(() => process.exit(0))
  })
  process.send({ type: 'ready' })
})
