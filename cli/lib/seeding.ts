/** The seeding loop shared by `publish` and `seed`: start, show a live status, stop cleanly on SIGINT/SIGTERM. */
import type { Metainfo } from '../../engine/metainfo/index.js'
import { waitForShutdown } from './signals.js'
import { renderSwarmStatus, startStatusLine, warningPrinter, type StatusLine } from './status.js'
import { startSeeder } from './swarm.js'

export interface SeedUntilStoppedInit {
  metainfo: Metainfo
  root: string
  trackers: string[]
  rtcConfig: RTCConfiguration | undefined
  /** Also closed on shutdown (the --local tracker and static server). */
  onShutdown?: () => Promise<void>
}

export async function seedUntilStopped (init: SeedUntilStoppedInit): Promise<void> {
  let status: StatusLine | undefined
  const shutdown = waitForShutdown()
  const seeder = await startSeeder({
    metainfo: init.metainfo,
    root: init.root,
    trackers: init.trackers,
    ...(init.rtcConfig !== undefined ? { rtcConfig: init.rtcConfig } : {}),
    onWarning: warningPrinter(() => status)
  })
  status = startStatusLine(() => renderSwarmStatus(`seeding ${init.metainfo.name}`, seeder.stats(), init.metainfo.length))
  const signal = await shutdown
  status.stop()
  process.stderr.write(`peersite: ${signal} received, stopping\n`)
  await seeder.close()
  await init.onShutdown?.()
}
