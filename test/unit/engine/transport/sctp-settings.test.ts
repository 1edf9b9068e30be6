/**
 * The Node transport caps what one SCTP association keeps in flight (engine/transport/node-wrtc.ts): with
 * libdatachannel's 1 MiB, a seeder behind a 20 Mbit/s uplink overflowed the link's queue and paid for a copy of a site
 * up to 1.7 times on the wire (bench/offload.mjs BENCH_OFFLOAD_UPLINK). The setting is process-wide and read when an
 * association is made, so it must be in place as soon as the module that makes Node connections is loaded.
 */
import { describe, expect, it, vi } from 'vitest'

const calls: unknown[] = []
vi.mock('node-datachannel', async (importOriginal) => {
  const real = await importOriginal<typeof import('node-datachannel')>()
  return { ...real, setSctpSettings: (settings: unknown) => { calls.push(settings) } }
})

describe('the Node transport\'s SCTP settings', () => {
  it('sets a 256 KiB send buffer once, when loaded', async () => {
    const { SCTP_SEND_BUFFER } = await import('../../../../engine/transport/node-wrtc.js')
    expect(SCTP_SEND_BUFFER).toBe(256 * 1024)
    expect(calls).toEqual([{ sendBufferSize: 256 * 1024 }])
    await import('../../../../engine/discovery/node.js') // the Node discovery, which loads the transport too
    expect(calls).toHaveLength(1)
  })
})
