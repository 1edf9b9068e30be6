/**
 * Node peers advertise a 128 KiB maximum message size (engine/transport/node-wrtc.ts: libdatachannel never gives an
 * association a send buffer below it, so the 128 KiB send buffer needs it), and the uploader's largest messages, a
 * batch of blocks of up to SEND_COALESCE_BYTES, still cross between two of them whole.
 */
import { describe, expect, it } from 'vitest'
import { SEND_COALESCE_BYTES } from '../../engine/constants.js'
import { NODE_MAX_MESSAGE_SIZE } from '../../engine/transport/node-wrtc.js'
import { assertInNetns, nodeWrtc, rtcConfig, signalPair } from '../helpers/webrtc.js'

describe('a Node peer\'s maximum message size', () => {
  it('is advertised, and a batch of blocks crosses in one message', async () => {
    assertInNetns()
    const { RTCPeerConnection } = nodeWrtc
    const a = new RTCPeerConnection(rtcConfig)
    const b = new RTCPeerConnection(rtcConfig)
    try {
      const received = new Promise<number>((resolve) => {
        b.ondatachannel = (e) => { e.channel.onmessage = (m) => resolve((m.data as ArrayBuffer).byteLength) }
      })
      const channel = a.createDataChannel('batch')
      channel.binaryType = 'arraybuffer'
      const opened = new Promise<void>((resolve) => { channel.onopen = () => resolve() })

      await signalPair(a, b)
      expect(a.localDescription!.sdp).toContain(`a=max-message-size:${NODE_MAX_MESSAGE_SIZE}`)
      expect(b.localDescription!.sdp).toContain(`a=max-message-size:${NODE_MAX_MESSAGE_SIZE}`)

      await opened
      channel.send(new Uint8Array(SEND_COALESCE_BYTES))
      expect(await received).toBe(SEND_COALESCE_BYTES)
    } finally {
      a.close()
      b.close()
    }
  })

  it('is what node-datachannel advertises when set lower (so SCTP_SEND_BUFFER can go below its 256 KiB default)', async () => {
    assertInNetns()
    const pc = new nodeWrtc.RTCPeerConnection({ ...rtcConfig, maxMessageSize: 65536 } as RTCConfiguration)
    try {
      pc.createDataChannel('x')
      await pc.setLocalDescription(await pc.createOffer())
      expect(pc.localDescription!.sdp).toContain('a=max-message-size:65536')
    } finally {
      pc.close()
    }
  })
})
