/**
 * Stand-ins for the browser's WebSocket and RTCPeerConnection, so the WebSocket tracker client can be tested
 * message by message without a network. The fake peer connection produces recognisable SDP ("offer 3") and lets
 * the test open its data channel by hand.
 */
import type { WebSocketLike } from '../../../../engine/discovery/websocket-tracker.js'

export class FakeSocket implements WebSocketLike {
  static instances: FakeSocket[] = []
  readyState = 0
  readonly sent: Array<Record<string, unknown>> = []
  closed = false
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: unknown) => void) | null = null
  onclose: ((event: unknown) => void) | null = null
  onerror: ((event: unknown) => void) | null = null

  constructor (readonly url: string) {
    FakeSocket.instances.push(this)
  }

  send (data: string): void {
    if (this.readyState !== 1) throw new Error('not open')
    this.sent.push(JSON.parse(data) as Record<string, unknown>)
  }

  close (): void {
    this.closed = true
    this.readyState = 3
  }

  /** The server accepted the connection. */
  accept (): void {
    this.readyState = 1
    this.onopen?.({})
  }

  /** The server sends a message. */
  receive (message: unknown): void {
    this.onmessage?.({ data: typeof message === 'string' ? message : JSON.stringify(message) })
  }

  /** The server (or the network) closed the connection. */
  drop (): void {
    this.readyState = 3
    this.onclose?.({})
  }

  /** Announce messages sent so far (answers included). */
  announces (): Array<Record<string, unknown>> {
    return this.sent.filter((m) => m.action === 'announce')
  }
}

export class FakeChannel extends EventTarget {
  readyState: RTCDataChannelState = 'connecting'
  binaryType = 'blob'
  bufferedAmount = 0
  bufferedAmountLowThreshold = 0
  readonly sent: Uint8Array[] = []
  constructor (readonly label: string) { super() }

  send (data: Uint8Array): void {
    if (this.readyState !== 'open') throw new Error('not open')
    this.sent.push(data.slice())
  }

  close (): void {
    if (this.readyState === 'closed') return
    this.readyState = 'closed'
    this.dispatchEvent(new Event('close'))
  }

  /** The channel opens (both sides connected). */
  open (): void {
    this.readyState = 'open'
    this.dispatchEvent(new Event('open'))
  }

  deliver (bytes: Uint8Array): void {
    this.dispatchEvent(new MessageEvent('message', { data: bytes.slice().buffer }))
  }
}

let counter = 0

export class FakePeerConnection extends EventTarget {
  static instances: FakePeerConnection[] = []
  iceGatheringState: RTCIceGatheringState = 'new'
  connectionState: RTCPeerConnectionState = 'new'
  localDescription: { type: RTCSdpType, sdp: string } | null = null
  remoteDescription: { type: RTCSdpType, sdp: string } | null = null
  channel: FakeChannel | undefined
  closed = false
  readonly id = ++counter

  constructor (readonly config?: RTCConfiguration) {
    super()
    FakePeerConnection.instances.push(this)
  }

  createDataChannel (label: string): FakeChannel {
    this.channel = new FakeChannel(label)
    return this.channel
  }

  async createOffer (): Promise<{ type: 'offer', sdp: string }> {
    return { type: 'offer', sdp: `offer ${this.id}\r\na=ice-options:trickle\r\n` }
  }

  async createAnswer (): Promise<{ type: 'answer', sdp: string }> {
    return { type: 'answer', sdp: `answer ${this.id}\r\n` }
  }

  async setLocalDescription (desc: { type: RTCSdpType, sdp: string }): Promise<void> {
    // Gathering "finds" one candidate and completes on a later tick, as real stacks do.
    setTimeout(() => {
      this.localDescription = { type: desc.type, sdp: `${desc.sdp}a=candidate:fake ${this.id}\r\n` }
      this.iceGatheringState = 'complete'
      this.dispatchEvent(new Event('icegatheringstatechange'))
    }, 0)
  }

  async setRemoteDescription (desc: { type: RTCSdpType, sdp: string }): Promise<void> {
    if (desc.sdp.startsWith('bad')) throw new Error('malformed SDP')
    this.remoteDescription = desc
  }

  /** Answerer side: the initiator's channel arrives. */
  announceChannel (): FakeChannel {
    this.channel = new FakeChannel('remote')
    this.dispatchEvent(Object.assign(new Event('datachannel'), { channel: this.channel }))
    return this.channel
  }

  async getStats (): Promise<Map<string, unknown>> {
    return new Map<string, unknown>([
      ['p', { id: 'p', type: 'candidate-pair', state: 'succeeded', nominated: true, remoteCandidateId: 'r' }],
      ['r', { id: 'r', type: 'remote-candidate', address: '10.77.0.2', port: 5000 }]
    ])
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.connectionState = 'closed'
    this.channel?.close()
  }
}

export function resetFakes (): void {
  FakeSocket.instances = []
  FakePeerConnection.instances = []
}
