/**
 * The ground every WebRTC test stands on: we are in the private namespace of scripts/in-netns.sh, and two
 * node-datachannel peer connections (standards polyfill, no STUN) connect there and carry data.
 */
import { describe, expect, it } from 'vitest'
import { assertInNetns, nodeWrtc, nonLoopbackAddresses, rtcConfig, signalPair } from '../helpers/webrtc.js'

describe('private network namespace', () => {
  it('runs inside the namespace made by scripts/in-netns.sh', () => {
    assertInNetns()
    expect(process.env.PEERSITE_NETNS).toBe('1')
    const addrs = nonLoopbackAddresses()
    expect(addrs).toContain('10.77.0.1')
    expect(addrs).toContain('10.77.0.2')
    // Nothing else: no way out of the namespace.
    expect(addrs.filter((a) => !a.startsWith('10.77.0.') && !a.startsWith('fe80:'))).toEqual([])
  })

  it('opens a node-datachannel data channel and echoes a message', async () => {
    assertInNetns()
    const { RTCPeerConnection } = nodeWrtc
    const a = new RTCPeerConnection(rtcConfig)
    const b = new RTCPeerConnection(rtcConfig)
    try {
      // b echoes whatever arrives on any channel.
      b.ondatachannel = (e) => {
        const ch = e.channel
        ch.onmessage = (m) => ch.send(m.data as string)
      }
      const channel = a.createDataChannel('echo')
      const opened = new Promise<void>((resolve) => { channel.onopen = () => resolve() })
      const echoed = new Promise<string>((resolve) => { channel.onmessage = (m) => resolve(m.data as string) })

      // Trickle ICE, signalled in-process.
      await signalPair(a, b)

      const t0 = performance.now()
      await opened
      const openMs = performance.now() - t0
      channel.send('hello through the namespace')
      expect(await echoed).toBe('hello through the namespace')
      expect(openMs).toBeLessThan(10_000)
    } finally {
      a.close()
      b.close()
    }
  })
})
