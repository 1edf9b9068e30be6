import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  WebSocketTrackerDiscovery, binaryToBytes, bytesToBinary, parseTrackerMessage,
  type WebSocketConstructor, type WebSocketTrackerDiscoveryInit
} from '../../../../engine/discovery/websocket-tracker.js'
import type { Connection } from '../../../../engine/transport/index.js'
import { SEND_LOW_WATER_MARK, WS_MAX_HELD_BYTES, WS_MAX_INTERVAL_MS, WS_MAX_PENDING, WS_RECONNECT_MIN_MS } from '../../../../engine/constants.js'
import { createAnswer, createOffer, type RTCPeerConnectionConstructor } from '../../../../engine/transport/webrtc.js'
import { toHex } from '../../../../engine/util/bytes.js'
import { FakePeerConnection, FakeSocket, resetFakes } from './fakes.js'

const ids = (fill: number): Uint8Array => new Uint8Array(20).fill(fill)
// Bytes above 127 are where latin1 "binary strings" and UTF-8 differ: use them on purpose.
const INFO_HASH = Uint8Array.from({ length: 20 }, (_, i) => 200 + i)
const PEER_ID = ids(0x41)
const REMOTE = Uint8Array.from({ length: 20 }, (_, i) => 0xe0 + (i % 16))
const IH = bytesToBinary(INFO_HASH)
const PID = bytesToBinary(PEER_ID)
const RID = bytesToBinary(REMOTE)
const OFFER_ID = bytesToBinary(ids(0x99))

describe('binary strings', () => {
  it('map every byte value to one char and back', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    const s = bytesToBinary(all)
    expect(s.length).toBe(256)
    expect(s.charCodeAt(0xe9)).toBe(0xe9)
    expect(binaryToBytes(s, 256)).toEqual(all)
    // Survives JSON, as it must on the wire.
    expect(binaryToBytes(JSON.parse(JSON.stringify(s)) as string, 256)).toEqual(all)
  })

  it('reject strings of the wrong length, chars above 255, and non-strings', () => {
    expect(binaryToBytes('abc')).toBeUndefined()
    expect(binaryToBytes('€'.repeat(20))).toBeUndefined()
    expect(binaryToBytes(42)).toBeUndefined()
    expect(binaryToBytes('a'.repeat(20))).toEqual(new Uint8Array(20).fill(97))
  })
})

describe('parseTrackerMessage', () => {
  const parse = (m: unknown): ReturnType<typeof parseTrackerMessage> => parseTrackerMessage(JSON.stringify(m), IH, PID)

  it('reads an announce response: interval in ms, tracker id, warning, acknowledged', () => {
    expect(parse({ action: 'announce', info_hash: IH, interval: 120, complete: 1, incomplete: 2, 'tracker id': 'x' }))
      .toEqual({ kind: 'response', interval: 120_000, trackerId: 'x', acked: true, swarmSize: 3 })
    expect(parse({ action: 'announce', info_hash: IH, 'min interval': 7, 'warning message': 'slow down' }))
      .toEqual({ kind: 'response', interval: 7000, warning: 'slow down', acked: false })
  })

  it('reads failures, with or without an info_hash', () => {
    expect(parse({ 'failure reason': 'invalid info_hash' })).toEqual({ kind: 'failure', reason: 'invalid info_hash' })
    expect(parse({ action: 'announce', info_hash: IH, 'failure reason': 'no' })).toEqual({ kind: 'failure', reason: 'no' })
    expect(parseTrackerMessage('{not json', IH, PID).kind).toBe('failure')
    expect(parseTrackerMessage(new TextEncoder().encode(JSON.stringify({ 'failure reason': 'bytes' })), IH, PID))
      .toEqual({ kind: 'failure', reason: 'bytes' })
  })

  it('never throws on values of the wrong type: a non-string failure reason is still a failure, other such values are left out', () => {
    // {"toString": 1} makes String() and Number() throw: a TypeError out of a socket's onmessage ends a Node process.
    const bad = { toString: 1 }
    expect(parse({ 'failure reason': bad })).toEqual({ kind: 'failure', reason: 'invalid tracker message' })
    expect(parse({ action: 'announce', info_hash: IH, 'warning message': bad, interval: bad, complete: bad, incomplete: bad }))
      .toEqual({ kind: 'response', acked: true })
    expect(parse({ action: 'announce', info_hash: IH, 'min interval': bad, complete: 1, incomplete: [2] }))
      .toEqual({ kind: 'response', acked: true })
  })

  it('reads offers and answers from other peers', () => {
    const offer = { type: 'offer', sdp: 'v=0 offer' }
    const m = parse({ action: 'announce', info_hash: IH, peer_id: RID, offer_id: OFFER_ID, offer })
    expect(m).toEqual({ kind: 'offer', peerId: REMOTE, offerId: OFFER_ID, offer })
    const answer = { type: 'answer', sdp: 'v=0 answer' }
    expect(parse({ action: 'announce', info_hash: IH, peer_id: RID, offer_id: OFFER_ID, answer }))
      .toEqual({ kind: 'answer', peerId: REMOTE, offerId: OFFER_ID, answer })
  })

  it('ignores other torrents, our own echoes, malformed ids and descriptions', () => {
    const offer = { type: 'offer', sdp: 'x' }
    expect(parse({ action: 'announce', info_hash: bytesToBinary(ids(1)), peer_id: RID, offer_id: OFFER_ID, offer }).kind).toBe('ignore')
    expect(parse({ action: 'announce', info_hash: IH, peer_id: PID, offer_id: OFFER_ID, offer }).kind).toBe('ignore')
    expect(parse({ action: 'announce', info_hash: IH, peer_id: 'short', offer_id: OFFER_ID, offer }).kind).toBe('ignore')
    expect(parse({ action: 'announce', info_hash: IH, peer_id: RID, offer_id: 7, offer }).kind).toBe('ignore')
    expect(parse({ action: 'announce', info_hash: IH, peer_id: RID, offer_id: OFFER_ID, offer: { type: 'answer', sdp: 'x' } }).kind).toBe('ignore')
    expect(parse({ action: 'scrape', info_hash: IH }).kind).toBe('ignore')
  })
})

describe('WebSocketTrackerDiscovery with a fake tracker and fake WebRTC', () => {
  const discoveries: WebSocketTrackerDiscovery[] = []
  beforeEach(() => {
    resetFakes()
    vi.useFakeTimers()
  })
  afterEach(async () => {
    for (const d of discoveries.splice(0)) await d.destroy()
    vi.useRealTimers()
  })

  const flush = async (ms = 5): Promise<void> => { await vi.advanceTimersByTimeAsync(ms) }

  function make (init: Partial<WebSocketTrackerDiscoveryInit> = {}): { d: WebSocketTrackerDiscovery, connections: Connection[], warnings: string[] } {
    const d = new WebSocketTrackerDiscovery({
      infoHash: INFO_HASH,
      peerId: PEER_ID,
      announce: ['ws://tracker.test/announce'],
      WebSocket: FakeSocket as unknown as WebSocketConstructor,
      RTCPeerConnection: FakePeerConnection as unknown as RTCPeerConnectionConstructor,
      numwant: 2,
      ...init
    })
    discoveries.push(d)
    const connections: Connection[] = []
    const warnings: string[] = []
    d.on('connection', (c) => connections.push(c))
    d.on('warning', (e) => warnings.push(e.message))
    return { d, connections, warnings }
  }

  async function started (init: Partial<WebSocketTrackerDiscoveryInit> = {}): Promise<ReturnType<typeof make> & { socket: FakeSocket }> {
    const made = make(init)
    made.d.start({ uploaded: 5, downloaded: 6, left: 7 })
    const socket = FakeSocket.instances.at(-1)!
    socket.accept()
    await flush()
    return { ...made, socket }
  }

  it('announces `started` with binary-string ids, stats and complete non-trickle offers', async () => {
    const { socket } = await started()
    expect(socket.url).toBe('ws://tracker.test/announce')
    const [first] = socket.announces()
    expect(first).toMatchObject({
      action: 'announce', info_hash: IH, peer_id: PID, numwant: 2, uploaded: 5, downloaded: 6, left: 7, event: 'started'
    })
    const offers = first!.offers as Array<{ offer: { type: string, sdp: string }, offer_id: string }>
    expect(offers).toHaveLength(2)
    for (const o of offers) {
      expect(binaryToBytes(o.offer_id)).toBeDefined()
      expect(o.offer.type).toBe('offer')
      expect(o.offer.sdp).toMatch(/a=candidate:fake/) // sent after gathering completed
      expect(o.offer.sdp).not.toMatch(/ice-options:trickle/)
    }
    expect(new Set(offers.map((o) => o.offer_id)).size).toBe(2)
    // The initiator made the data channel, with a random label, as simple-peer does.
    const pc = FakePeerConnection.instances[0]!
    expect(pc.channel?.label).toMatch(/^[0-9a-f]{40}$/)
    expect(pc.channel?.binaryType).toBe('arraybuffer')
  })

  it('emits `announced` when the tracker acknowledges, and follows its interval', async () => {
    const { d, socket } = await started()
    let announced = 0
    d.on('announced', () => announced++)
    socket.receive({ action: 'announce', info_hash: IH, interval: 3, complete: 1, incomplete: 2 })
    expect(announced).toBe(1)
    expect(socket.announces()).toHaveLength(1)
    await flush(3010)
    const second = socket.announces()[1]
    expect(second).toBeDefined()
    expect(second!.event).toBeUndefined() // a plain update
    expect(second!.offers).toHaveLength(2)
  })

  it('re-announces no less often than WS_MAX_INTERVAL_MS whatever interval a tracker gives (setTimeout fires at once past 2^31-1 ms)', async () => {
    for (const interval of ['1e10', String(30 * 24 * 3600), '1e400']) {
      const { socket } = await started()
      socket.receive(`{"action":"announce","info_hash":${JSON.stringify(IH)},"interval":${interval},"complete":1,"incomplete":2}`)
      await flush(10_000)
      expect(socket.announces()).toHaveLength(1) // no hot loop
      await flush(WS_MAX_INTERVAL_MS)
      expect(socket.announces()).toHaveLength(2)
    }
  })

  it('matches an answer to its offer by offer_id, once, and emits the connection when the channel opens', async () => {
    const { socket, connections } = await started()
    const offers = socket.announces()[0]!.offers as Array<{ offer_id: string }>
    const offerId = offers[1]!.offer_id
    const pc = FakePeerConnection.instances[1]!
    socket.receive({ action: 'announce', info_hash: IH, peer_id: RID, offer_id: bytesToBinary(ids(7)), answer: { type: 'answer', sdp: 'stray' } })
    socket.receive({ action: 'announce', info_hash: IH, peer_id: RID, offer_id: offerId, answer: { type: 'answer', sdp: 'v=0 a' } })
    await flush()
    expect(FakePeerConnection.instances.filter((p) => p.remoteDescription !== null)).toEqual([pc])
    expect(pc.remoteDescription).toEqual({ type: 'answer', sdp: 'v=0 a' })
    // A second answer to the same offer goes nowhere.
    socket.receive({ action: 'announce', info_hash: IH, peer_id: bytesToBinary(ids(8)), offer_id: offerId, answer: { type: 'answer', sdp: 'late' } })
    await flush()
    expect(pc.remoteDescription?.sdp).toBe('v=0 a')
    expect(connections).toHaveLength(0)
    pc.channel!.open()
    expect(connections).toHaveLength(1) // synchronously with the open event
    const conn = connections[0]!
    expect(conn.initiator).toBe(true)
    const got: Uint8Array[] = []
    conn.on('data', (b) => got.push(b))
    pc.channel!.deliver(new Uint8Array([1, 2, 3]))
    expect(got).toEqual([new Uint8Array([1, 2, 3])])
    conn.send(new Uint8Array([9]))
    expect(pc.channel!.sent).toEqual([new Uint8Array([9])])
    await flush()
    expect(conn.remoteAddress).toBe('webrtc 10.77.0.2:5000')
    let closed = false
    conn.on('close', () => { closed = true })
    pc.channel!.close()
    expect(closed).toBe(true)
    expect(pc.closed).toBe(true)
  })

  it('gathers the first offers while the socket is still opening', async () => {
    const { d } = make()
    d.start({ uploaded: 0, downloaded: 0, left: 1 })
    // the socket has not opened yet, and the offers are made already
    expect(FakePeerConnection.instances).toHaveLength(2)
    const socket = FakeSocket.instances.at(-1)!
    socket.accept()
    await flush()
    const [first] = socket.announces()
    expect(first!.offers).toHaveLength(2)
    // the same two, not two more
    expect(FakePeerConnection.instances).toHaveLength(2)
  })

  /** A discovery that nobody listens to yet, whose one offer was answered and whose data channel has just opened. */
  async function heldChannel (): Promise<{ d: WebSocketTrackerDiscovery, socket: FakeSocket, pc: FakePeerConnection }> {
    const d = new WebSocketTrackerDiscovery({
      infoHash: INFO_HASH,
      peerId: PEER_ID,
      announce: ['ws://tracker.test/announce'],
      WebSocket: FakeSocket as unknown as WebSocketConstructor,
      RTCPeerConnection: FakePeerConnection as unknown as RTCPeerConnectionConstructor,
      numwant: 1
    })
    discoveries.push(d)
    d.start({ uploaded: 0, downloaded: 0, left: 1 })
    const socket = FakeSocket.instances.at(-1)!
    socket.accept()
    await flush()
    const offerId = (socket.announces()[0]!.offers as Array<{ offer_id: string }>)[0]!.offer_id
    socket.receive({ action: 'announce', info_hash: IH, peer_id: RID, offer_id: offerId, answer: { type: 'answer', sdp: 'v=0 a' } })
    await flush()
    const pc = FakePeerConnection.instances[0]!
    pc.channel!.open()
    return { d, socket, pc }
  }

  it('holds a connection that opens before anyone listens, with its bytes, for the first listener', async () => {
    const { d, socket, pc } = await heldChannel()
    pc.channel!.deliver(new Uint8Array([1, 2]))
    pc.channel!.deliver(new Uint8Array([3]))
    const got: Uint8Array[] = []
    d.on('connection', (c) => { c.on('data', (b) => got.push(b)) })
    expect(got).toEqual([new Uint8Array([1, 2]), new Uint8Array([3])])
    // later bytes go straight to the listener, once
    pc.channel!.deliver(new Uint8Array([4]))
    expect(got).toHaveLength(3)
    // a second start only updates the figures: no second socket; a visitor that holds everything says `completed`
    d.start({ uploaded: 0, downloaded: 0, left: 0 })
    expect(FakeSocket.instances).toHaveLength(1)
    expect(socket.announces().map((a) => a.event)).toEqual(['started', 'completed'])
  })

  it('drops a held connection that sends more than WS_MAX_HELD_BYTES before anyone listens', async () => {
    const { d, pc } = await heldChannel()
    for (let sent = 0; sent <= WS_MAX_HELD_BYTES; sent += 16_384) pc.channel!.deliver(new Uint8Array(16_384))
    expect(pc.closed).toBe(true)
    const got: Connection[] = []
    d.on('connection', (c) => got.push(c))
    expect(got).toEqual([])
  })

  it('bounds connections being answered: a burst of offers makes no more than WS_MAX_PENDING', async () => {
    const { socket } = await started({ numwant: 0 })
    for (let i = 0; i < 200; i++) {
      const peerId = bytesToBinary(Uint8Array.from({ length: 20 }, (_, j) => (i * 7 + j) & 0xff))
      const offerId = bytesToBinary(Uint8Array.from({ length: 20 }, (_, j) => (i + j * 3) & 0xff))
      socket.receive({ action: 'announce', info_hash: IH, peer_id: peerId, offer_id: offerId, offer: { type: 'offer', sdp: 'v=0 theirs' } })
    }
    await flush()
    expect(FakePeerConnection.instances).toHaveLength(WS_MAX_PENDING)
    expect(socket.announces().filter((m) => m.answer !== undefined)).toHaveLength(WS_MAX_PENDING)
  })

  it('answers an offer with to_peer_id and offer_id, and emits the connection when the channel arrives and opens', async () => {
    const { socket, connections } = await started({ numwant: 0 })
    socket.receive({ action: 'announce', info_hash: IH, peer_id: RID, offer_id: OFFER_ID, offer: { type: 'offer', sdp: 'v=0 theirs' } })
    await flush()
    const answer = socket.announces().find((m) => m.answer !== undefined)
    expect(answer).toBeDefined()
    const pc = FakePeerConnection.instances[0]!
    expect(pc.remoteDescription).toEqual({ type: 'offer', sdp: 'v=0 theirs' })
    expect(answer).toEqual({
      action: 'announce',
      info_hash: IH,
      peer_id: PID,
      to_peer_id: RID,
      offer_id: OFFER_ID,
      answer: { type: 'answer', sdp: `answer ${pc.id}\r\na=candidate:fake ${pc.id}\r\n` }
    })
    const channel = pc.announceChannel()
    expect(connections).toHaveLength(0)
    channel.open()
    expect(connections).toHaveLength(1)
    expect(connections[0]!.initiator).toBe(false)
  })

  it('asks wantsPeer before answering or accepting an answer', async () => {
    const asked: string[] = []
    const { socket } = await started({ wantsPeer: (id) => { asked.push(id); return false } })
    const offerId = (socket.announces()[0]!.offers as Array<{ offer_id: string }>)[0]!.offer_id
    socket.receive({ action: 'announce', info_hash: IH, peer_id: RID, offer_id: OFFER_ID, offer: { type: 'offer', sdp: 'v=0' } })
    socket.receive({ action: 'announce', info_hash: IH, peer_id: RID, offer_id: offerId, answer: { type: 'answer', sdp: 'v=0' } })
    await flush()
    expect(asked).toEqual([toHex(REMOTE), toHex(REMOTE)])
    expect(socket.announces().some((m) => m.answer !== undefined)).toBe(false)
    expect(FakePeerConnection.instances[0]!.closed).toBe(true) // the answered offer was dropped
  })

  it('sends no more offers than the swarm has other peers (but at least one)', async () => {
    const { socket } = await started({ numwant: 5, announceIntervalMs: 1000 })
    expect(socket.announces()[0]!.offers).toHaveLength(5) // swarm size unknown yet
    socket.receive({ action: 'announce', info_hash: IH, complete: 1, incomplete: 2 }) // us and two others
    await flush(1000)
    expect(socket.announces()[1]!.offers).toHaveLength(2)
    socket.receive({ action: 'announce', info_hash: IH, complete: 0, incomplete: 1 }) // only us
    await flush(1000)
    expect(socket.announces()[2]!.offers).toHaveLength(1)
  })

  it('destroys offers nobody answered after offerTimeoutMs', async () => {
    await started({ offerTimeoutMs: 10_000 })
    expect(FakePeerConnection.instances.map((p) => p.closed)).toEqual([false, false])
    await flush(10_000)
    expect(FakePeerConnection.instances.map((p) => p.closed)).toEqual([true, true])
  })

  it('bounds open connections: announces stop carrying offers at the limit', async () => {
    const { socket } = await started({ numwant: 10, announceIntervalMs: 1000 })
    for (let i = 0; i < 5; i++) await flush(1000)
    const counts = socket.announces().map((m) => (m.offers as unknown[]).length)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(WS_MAX_PENDING)
    expect(counts.at(-1)).toBe(0)
    expect(FakePeerConnection.instances).toHaveLength(WS_MAX_PENDING)
  })

  it('warns about an answer it cannot apply and drops that connection', async () => {
    const { socket, warnings, connections } = await started()
    const offerId = (socket.announces()[0]!.offers as Array<{ offer_id: string }>)[0]!.offer_id
    socket.receive({ action: 'announce', info_hash: IH, peer_id: RID, offer_id: offerId, answer: { type: 'answer', sdp: 'bad sdp' } })
    await flush()
    expect(warnings).toEqual(['bad WebRTC answer from a peer: malformed SDP'])
    expect(FakePeerConnection.instances[0]!.closed).toBe(true)
    expect(connections).toHaveLength(0)
  })

  it('warns on failure reason and warning message', async () => {
    const { socket, warnings } = await started()
    socket.receive({ 'failure reason': 'invalid info_hash' })
    socket.receive({ action: 'announce', info_hash: IH, 'warning message': 'be nice', complete: 0, incomplete: 0 })
    socket.receive('garbage')
    expect(warnings).toEqual([
      'tracker ws://tracker.test/announce: invalid info_hash',
      'tracker ws://tracker.test/announce: be nice',
      'tracker ws://tracker.test/announce: invalid tracker message (not JSON)'
    ])
  })

  it('turns an error while handling a message into a warning, never an exception out of onmessage', async () => {
    const { socket, warnings } = await started({ wantsPeer: () => { throw new Error('wantsPeer broke') } })
    socket.receive({ 'failure reason': { toString: 1 } })
    expect(() => socket.receive({ action: 'announce', info_hash: IH, peer_id: RID, offer_id: OFFER_ID, offer: { type: 'offer', sdp: 'v=0' } })).not.toThrow()
    expect(warnings).toEqual([
      'tracker ws://tracker.test/announce: invalid tracker message',
      'tracker ws://tracker.test/announce: wantsPeer broke'
    ])
  })

  it('reconnects with backoff when the socket closes, drops its offers, and announces `started` again', async () => {
    const { socket, warnings } = await started()
    socket.drop()
    expect(warnings).toEqual(['tracker ws://tracker.test/announce: connection closed'])
    warnings.length = 0
    expect(FakePeerConnection.instances.every((p) => p.closed)).toBe(true) // their answers would come through it
    expect(FakeSocket.instances).toHaveLength(1)
    await flush(WS_RECONNECT_MIN_MS)
    expect(FakeSocket.instances).toHaveLength(2)
    const again = FakeSocket.instances[1]!
    again.drop() // fails before opening: the next wait is longer
    await flush(WS_RECONNECT_MIN_MS)
    expect(FakeSocket.instances).toHaveLength(2)
    await flush(WS_RECONNECT_MIN_MS)
    expect(FakeSocket.instances).toHaveLength(3)
    expect(warnings).toEqual(['tracker ws://tracker.test/announce: cannot connect'])
    FakeSocket.instances[2]!.accept()
    await flush()
    expect(FakeSocket.instances[2]!.announces()[0]!.event).toBe('started')
  })

  it('announces to every tracker URL, once each', async () => {
    const { d } = make({ announce: ['ws://a.test', 'wss://b.test', 'ws://a.test', 'http://c.test/announce'] })
    const warnings: string[] = []
    d.on('warning', (e) => warnings.push(e.message))
    d.start({ uploaded: 0, downloaded: 0, left: 1 })
    expect(FakeSocket.instances.map((s) => s.url)).toEqual(['ws://a.test', 'wss://b.test'])
    expect(warnings).toHaveLength(1)
  })

  it('sends `completed` without offers, and `stopped` on destroy', async () => {
    const { d, socket } = await started()
    d.complete({ uploaded: 1, downloaded: 2, left: 0 })
    const completed = socket.announces().at(-1)!
    expect(completed).toMatchObject({ event: 'completed', left: 0, numwant: 0 })
    expect(completed.offers).toBeUndefined()
    await d.destroy()
    expect(socket.announces().at(-1)).toMatchObject({ event: 'stopped', numwant: 0 })
    expect(socket.closed).toBe(true)
    expect(FakePeerConnection.instances.every((p) => p.closed)).toBe(true)
  })

  it('omits a `left` JSON cannot carry', async () => {
    const { d } = make()
    d.start({ uploaded: 0, downloaded: 0, left: Number.POSITIVE_INFINITY })
    FakeSocket.instances[0]!.accept()
    await flush()
    expect('left' in FakeSocket.instances[0]!.announces()[0]!).toBe(false)
  })
})

describe('WebRtcConnection over a fake RTCPeerConnection', () => {
  const RTC = { RTCPeerConnection: FakePeerConnection as unknown as RTCPeerConnectionConstructor, rtcConfig: { iceServers: [] } }

  it('offers, accepts an answer, reports bufferedAmount and drain from bufferedamountlow', async () => {
    resetFakes()
    const { connection, offer } = await createOffer(RTC)
    const pc = FakePeerConnection.instances[0]!
    expect(pc.config).toEqual({ iceServers: [] })
    expect(offer.type).toBe('offer')
    await connection.accept({ type: 'answer', sdp: 'v=0' })
    const channel = pc.channel!
    expect(channel.bufferedAmountLowThreshold).toBe(SEND_LOW_WATER_MARK)
    let opened = false
    connection.onopen = () => { opened = true }
    channel.open()
    expect(opened).toBe(true)
    await connection.ready
    channel.bufferedAmount = 123
    expect(connection.bufferedAmount).toBe(123)
    let drains = 0
    connection.on('drain', () => drains++)
    channel.dispatchEvent(new Event('bufferedamountlow'))
    expect(drains).toBe(1)
    connection.close()
    expect(pc.closed).toBe(true)
    expect(connection.closed).toBe(true)
  })

  it('rejects a description of the wrong type, and `ready` rejects when closed before opening', async () => {
    resetFakes()
    await expect(createAnswer({ type: 'answer', sdp: 'x' } as never, RTC)).rejects.toThrow(/not an SDP offer/)
    expect(FakePeerConnection.instances[0]!.closed).toBe(true)
    const { connection } = await createOffer(RTC)
    await expect(connection.accept({ type: 'offer', sdp: 'x' } as never)).rejects.toThrow(/not an SDP answer/)
    connection.close()
    await expect(connection.ready).rejects.toThrow(/closed/)
  })

  it('sends nothing and closes when written before the channel is open', async () => {
    resetFakes()
    const { connection } = await createOffer(RTC)
    connection.send(new Uint8Array([1]))
    expect(connection.closed).toBe(true)
    expect(FakePeerConnection.instances[0]!.channel!.sent).toHaveLength(0)
  })
})
