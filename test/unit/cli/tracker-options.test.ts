/**
 * `peersite tracker`'s options reach the tracker server: run() with the server and the wait for a signal stood in
 * for (the limits themselves are tested in tracker-server.test.ts; the command line's checks in cli.test.ts).
 */
import { afterEach, expect, it, vi } from 'vitest'
import type { TrackerServerInit } from '../../../cli/lib/tracker-server.js'
import { run } from '../../../cli/run/tracker.js'
import type { TrackerArgs } from '../../../cli/commands/tracker.js'

const started: TrackerServerInit[] = []
vi.mock('../../../cli/lib/tracker-server.js', () => ({
  startTrackerServer: async (init: TrackerServerInit) => {
    started.push(init)
    return { url: 'ws://h:1', httpUrl: 'http://h:1/announce', udpUrl: 'udp://h:1', port: 1, host: 'h', close: async () => {} }
  }
}))
vi.mock('../../../cli/lib/signals.js', () => ({ waitForShutdown: async () => 'SIGINT' }))

afterEach(() => {
  started.splice(0)
  vi.restoreAllMocks()
})

async function runWith (args: Partial<TrackerArgs>): Promise<TrackerServerInit> {
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  await run({ _: [], $0: 'peersite', port: 0, host: '127.0.0.1', maxConnectionsPerAddress: 64, ...args } as TrackerArgs)
  expect(started).toHaveLength(1)
  return started[0]!
}

it('--max-connections-per-address is the server\'s maxConnectionsPerAddress, 0 (no limit) included', async () => {
  expect(await runWith({ maxConnectionsPerAddress: 0 })).toMatchObject({ maxConnectionsPerAddress: 0 })
  started.splice(0)
  expect(await runWith({ maxConnectionsPerAddress: 500 })).toMatchObject({ maxConnectionsPerAddress: 500 })
})
