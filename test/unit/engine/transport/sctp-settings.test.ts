/**
 * The Node transport caps what one SCTP association keeps in flight (engine/transport/node-wrtc.ts): with
 * libdatachannel's 1 MiB, a seeder behind a 20 Mbit/s uplink overflowed the link's queue and paid for a copy of a site
 * up to 1.7 times on the wire (bench/offload.mjs BENCH_OFFLOAD_UPLINK). The setting is process-wide and read when an
 * association is made, so it must be in place as soon as the module that makes Node connections is loaded; and
 * libdatachannel's send buffer is never below the local maximum message size, so the peer connections advertise a
 * maximum message size that follows the send buffer (else a smaller window would do nothing below 256 KiB).
 */
import { describe, expect, it, vi } from 'vitest'

const calls: unknown[] = []
vi.mock('node-datachannel', async (importOriginal) => {
  const real = await importOriginal<typeof import('node-datachannel')>()
  return { ...real, setSctpSettings: (settings: unknown) => { calls.push(settings) } }
})

// node-datachannel's RTCPeerConnection, recording its configuration instead of opening anything.
const configs: unknown[] = []
vi.mock('node-datachannel/polyfill', async (importOriginal) => {
  const real = await importOriginal<typeof import('node-datachannel/polyfill')>()
  class RTCPeerConnection {
    constructor (config?: unknown) { configs.push(config) }
    dispatchEvent (): boolean { return true }
    async setRemoteDescription (): Promise<void> {}
    async addIceCandidate (): Promise<void> {}
  }
  return { ...real, RTCPeerConnection }
})

describe('the Node transport\'s SCTP settings', () => {
  it('sets a 256 KiB send buffer once, when loaded', async () => {
    const { SCTP_SEND_BUFFER } = await import('../../../../engine/transport/node-wrtc.js')
    expect(SCTP_SEND_BUFFER).toBe(256 * 1024)
    expect(calls).toEqual([{ sendBufferSize: 256 * 1024 }])
    await import('../../../../engine/discovery/node.js') // the Node discovery, which loads the transport too
    expect(calls).toHaveLength(1)
  })

  it('gives every Node peer connection a maximum message size no larger than the send buffer', async () => {
    const { nodeWrtc, NODE_MAX_MESSAGE_SIZE, SCTP_SEND_BUFFER } = await import('../../../../engine/transport/node-wrtc.js')
    const { SEND_COALESCE_BYTES } = await import('../../../../engine/constants.js')
    expect(NODE_MAX_MESSAGE_SIZE).toBeLessThanOrEqual(SCTP_SEND_BUFFER)
    // The uploader's batches must still fit in one message.
    expect(NODE_MAX_MESSAGE_SIZE).toBeGreaterThanOrEqual(SEND_COALESCE_BYTES)
    configs.length = 0
    new nodeWrtc.RTCPeerConnection()
    new nodeWrtc.RTCPeerConnection({ iceServers: [] })
    // A configuration that names its own size keeps it.
    new nodeWrtc.RTCPeerConnection({ maxMessageSize: 65536 } as RTCConfiguration)
    expect(configs).toEqual([
      { maxMessageSize: 256 * 1024 },
      { maxMessageSize: 256 * 1024, iceServers: [] },
      { maxMessageSize: 65536 }
    ])
  })
})
