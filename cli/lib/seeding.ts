/** The seeding loop shared by `publish` and `seed`: start, show a live status, stop cleanly on SIGINT/SIGTERM. */
import type { BigIntStats } from 'node:fs'
import type { Metainfo } from '../../engine/metainfo/index.js'
import type { PointerRecord } from '../../engine/pointer/index.js'
import { startPointerSeeders, type PointerSeeders } from './pointer-swarm.js'
import { waitForShutdown } from './signals.js'
import { renderSwarmStatus, startStatusLine, warningPrinter, type StatusLine } from './status.js'
import { startSeeder } from './swarm.js'
import type { BtNetwork } from './bt-network.js'

export interface SeedUntilStoppedInit {
  metainfo: Metainfo
  root: string
  /** statFiles of the torrent's paths under `root`, if taken already (`seed`): not taken again. */
  stats?: ReadonlyArray<BigIntStats | undefined>
  trackers: string[]
  rtcConfig: RTCConfiguration | undefined
  /** Also closed on shutdown (the --local tracker and static server). */
  onShutdown?: () => Promise<void>
  /** A keyed site's signed record: announced in the pointer swarm and passed on in the site's swarm. */
  pointer?: PointerRecord
  /** TCP peers, HTTP/UDP trackers and the DHT; closed on shutdown. */
  network?: BtNetwork | undefined
}

export async function seedUntilStopped (init: SeedUntilStoppedInit): Promise<void> {
  let status: StatusLine | undefined
  const shutdown = waitForShutdown()
  const onWarning = warningPrinter(() => status)
  let pointers: PointerSeeders | undefined
  if (init.pointer !== undefined) {
    pointers = await startPointerSeeders({
      record: init.pointer,
      trackers: init.trackers,
      ...(init.rtcConfig !== undefined ? { rtcConfig: init.rtcConfig } : {}),
      onWarning
    })
  }
  const seeder = await startSeeder({
    metainfo: init.metainfo,
    root: init.root,
    stats: init.stats,
    trackers: init.trackers,
    ...(init.rtcConfig !== undefined ? { rtcConfig: init.rtcConfig } : {}),
    ...(pointers !== undefined ? { pointer: pointers.siteExchange } : {}),
    network: init.network,
    onWarning
  })
  status = startStatusLine(() => renderSwarmStatus(`seeding ${init.metainfo.name}`, seeder.stats(), init.metainfo.length))
  const signal = await shutdown
  status.stop()
  process.stderr.write(`peersite: ${signal} received, stopping\n`)
  await seeder.close()
  await pointers?.close()
  await init.network?.close()
  await init.onShutdown?.()
}
