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
    return {
      url: 'ws://h:1',
      httpUrl: init.http === false ? undefined : 'http://h:1/announce',
      udpUrl: init.udp === false ? undefined : 'udp://h:1',
      port: 1,
      host: 'h',
      close: async () => {}
    }
  }
}))
vi.mock('../../../cli/lib/signals.js', () => ({ waitForShutdown: async () => 'SIGINT' }))

afterEach(() => {
  started.splice(0)
  vi.restoreAllMocks()
})

let stdout = ''

async function runWith (args: Partial<TrackerArgs>): Promise<TrackerServerInit> {
  stdout = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => { stdout += String(chunk); return true })
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  await run({ _: [], $0: 'peersite', port: 0, host: '127.0.0.1', http: true, udp: true, maxConnectionsPerAddress: 64, ...args } as TrackerArgs)
  expect(started).toHaveLength(1)
  return started[0]!
}

it('--max-connections-per-address is the server\'s maxConnectionsPerAddress, 0 (no limit) included', async () => {
  expect(await runWith({ maxConnectionsPerAddress: 0 })).toMatchObject({ maxConnectionsPerAddress: 0 })
  started.splice(0)
  expect(await runWith({ maxConnectionsPerAddress: 500 })).toMatchObject({ maxConnectionsPerAddress: 500 })
})

it('--no-http and --no-udp turn those protocols off, and only the URLs served are printed, a line each', async () => {
  expect(await runWith({})).toMatchObject({ http: true, udp: true })
  expect(stdout).toBe('ws://h:1\nhttp://h:1/announce\nudp://h:1\n')
  started.splice(0)
  expect(await runWith({ http: false, udp: false })).toMatchObject({ http: false, udp: false })
  expect(stdout).toBe('ws://h:1\n')
  started.splice(0)
  expect(await runWith({ http: false })).toMatchObject({ http: false, udp: true })
  expect(stdout).toBe('ws://h:1\nudp://h:1\n')
})
