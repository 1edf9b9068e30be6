/**
 * A non-trickle description goes out once it holds a UDP candidate of every useful kind (host; server reflexive when
 * a STUN server is configured), ICE_SETTLE_MS later, not when gathering ends: Chromium ends it only after a TCP phase
 * 100-150 ms later, and every WebSocket-tracker offer and answer waited for that.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ICE_SETTLE_MS } from '../../../../engine/constants.js'
import { candidateTypes, createOffer, type RTCPeerConnectionConstructor } from '../../../../engine/transport/webrtc.js'
import { FakePeerConnection } from '../discovery/fakes.js'

/** A peer connection whose candidates the test hands out one by one; gathering ends only when the test says so. */
class SlowGathering extends FakePeerConnection {
  static last: SlowGathering | undefined
  constructor (config?: RTCConfiguration) {
    super(config)
    SlowGathering.last = this
  }

  override async setLocalDescription (desc: { type: RTCSdpType, sdp: string }): Promise<void> {
    this.localDescription = desc
  }

  candidate (line: string): void {
    this.localDescription = { type: this.localDescription!.type, sdp: `${this.localDescription!.sdp}a=${line}\r\n` }
    this.dispatchEvent(Object.assign(new Event('icecandidate'), { candidate: { candidate: line } }))
  }

  complete (): void {
    this.iceGatheringState = 'complete'
    this.dispatchEvent(new Event('icegatheringstatechange'))
  }
}

const Ctor = SlowGathering as unknown as RTCPeerConnectionConstructor
const HOST = 'candidate:1 1 udp 2122260223 10.77.0.1 50000 typ host generation 0'
const HOST_TCP = 'candidate:2 1 tcp 1518280447 10.77.0.1 9 typ host tcptype passive generation 0'
const SRFLX = 'candidate:3 1 udp 1686052607 203.0.113.5 50000 typ srflx raddr 10.77.0.1 rport 50000 generation 0'

/** Whether the offer has come out after the given steps (fake timers advanced between them). */
async function offerAfter (config: RTCConfiguration, steps: Array<(pc: SlowGathering) => void>): Promise<string | undefined> {
  let sdp: string | undefined
  void createOffer({ RTCPeerConnection: Ctor, rtcConfig: config, iceTimeoutMs: 60_000 }).then(({ offer }) => { sdp = offer.sdp })
  await vi.advanceTimersByTimeAsync(0)
  for (const step of steps) {
    step(SlowGathering.last!)
    await vi.advanceTimersByTimeAsync(ICE_SETTLE_MS + 1)
  }
  return sdp
}

describe('WebRTC descriptions before gathering ends', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('without ICE servers: once a UDP host candidate is in', async () => {
    expect(await offerAfter({ iceServers: [] }, [])).toBeUndefined()
    expect(await offerAfter({ iceServers: [] }, [(pc) => pc.candidate(HOST_TCP)])).toBeUndefined()
    const sdp = await offerAfter({ iceServers: [] }, [(pc) => pc.candidate(HOST)])
    expect(sdp).toContain('typ host')
  })

  it('with a STUN server: only once a server-reflexive candidate is in too', async () => {
    const stun = { iceServers: [{ urls: 'stun:stun.example.org:3478' }] }
    expect(await offerAfter(stun, [(pc) => pc.candidate(HOST)])).toBeUndefined()
    const sdp = await offerAfter(stun, [(pc) => pc.candidate(HOST), (pc) => pc.candidate(SRFLX)])
    expect(sdp).toContain('typ srflx')
  })

  it('gathering that ends first still ends the wait (no candidate of a wanted kind came)', async () => {
    const stun = { iceServers: [{ urls: ['stun:stun.example.org:3478'] }] }
    expect(await offerAfter(stun, [(pc) => pc.candidate(HOST), (pc) => pc.complete()])).toContain('typ host')
  })

  it('the kinds wanted follow the configured servers', () => {
    expect(candidateTypes(undefined)).toEqual(['host'])
    expect(candidateTypes({ iceServers: [{ urls: ['stun:a:3478', 'turn:b:3478'] }] })).toEqual(['host', 'srflx', 'relay'])
    expect(candidateTypes({ iceServers: [{ urls: 'turns:b:5349', username: 'u', credential: 'c' }] })).toEqual(['host', 'relay'])
  })
})
