/**
 * `peersite tracker`'s server (bittorrent-tracker's, in this process on 127.0.0.1) against hostile WebSocket and
 * HTTP messages: a message it cannot use is answered with a failure reason and a warning, never a crash of the
 * process (an uncaught exception here fails the run), and the tracker goes on serving honest peers.
 */
import { connect as tcpConnect, type Socket } from 'node:net'
import { afterEach, expect, it, vi } from 'vitest'
import Client from 'bittorrent-tracker'
import Server from 'bittorrent-tracker/server'
import WebSocket from 'ws'
import { addressGroup, CLOSE_GRACE_MS, HEARTBEAT_MS, MAX_BAD_MESSAGES, WARNING_INTERVAL_MS, MAX_MESSAGE_BYTES, MAX_SWARMS_PER_SOCKET, startTrackerServer, type TrackerServer, type TrackerServerInit } from '../../../cli/lib/tracker-server.js'

const servers: TrackerServer[] = []
const sockets: WebSocket[] = []
const raws: Socket[] = []
afterEach(async () => {
  vi.useRealTimers()
  for (const s of sockets.splice(0)) s.terminate()
  for (const s of raws.splice(0)) s.destroy()
  for (const s of servers.splice(0)) await s.close()
})

const HASH = 'z'.repeat(20)

async function tracker (init: TrackerServerInit = {}): Promise<TrackerServer> {
  const t = await startTrackerServer({ udp: false, ...init })
  servers.push(t)
  return t
}

/** A WebSocket to the tracker and the messages it receives, parsed. */
async function connect (t: TrackerServer): Promise<{ ws: WebSocket, next: () => Promise<Record<string, unknown>> }> {
  const ws = new WebSocket(t.url)
  sockets.push(ws)
  const queue: Array<Record<string, unknown>> = []
  const waiting: Array<(m: Record<string, unknown>) => void> = []
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as Record<string, unknown>
    const w = waiting.shift()
    if (w !== undefined) w(m)
    else queue.push(m)
  })
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  const next = async (): Promise<Record<string, unknown>> => {
    const m = queue.shift()
    return m !== undefined ? m : await new Promise((resolve) => waiting.push(resolve))
  }
  return { ws, next }
}

const announce = (peer: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ action: 'announce', info_hash: HASH, peer_id: peer.repeat(20), left: 0, event: 'started', numwant: 0, offers: [], ...extra })
const offer = { offer: { type: 'offer', sdp: 'v=0\r\n' }, offer_id: 'o'.repeat(20) }

it('an offers entry that is not an offer is refused; the tracker still hands honest offers on (the audit\'s crash)', async () => {
  const t = await tracker()
  const a = await connect(t)
  a.ws.send(announce('A'))
  expect(await a.next()).toMatchObject({ action: 'announce', complete: 1 })
  const b = await connect(t)
  for (const offers of [[null], [5], ['x'], [{}], [{ offer: null, offer_id: 'x' }], [{ offer: { sdp: 1 }, offer_id: 'x' }], [{ offer: { sdp: '' } }], 'abc', { length: 3 }]) {
    b.ws.send(announce('B', { offers, event: undefined }))
    expect(await b.next()).toEqual({ action: 'announce', 'failure reason': expect.stringContaining('offer'), info_hash: HASH })
  }
  b.ws.send(announce('B', { offers: [offer] }))
  expect(await b.next()).toMatchObject({ action: 'announce' })
  expect(await a.next()).toMatchObject({ action: 'announce', offer: offer.offer, offer_id: offer.offer_id, peer_id: 'B'.repeat(20) })
})

it('other messages the server would trust are refused with a failure reason', async () => {
  const t = await tracker()
  const a = await connect(t)
  const bad = ['{', 'null', '[]', '"announce"', '5', JSON.stringify({ action: 'announce', info_hash: 5 }),
    announce('A', { peer_id: 7 }), announce('A', { answer: { type: 'answer', sdp: 'x' } }),
    announce('A', { answer: 'x', offer_id: 'o', to_peer_id: 'B'.repeat(20) }), announce('A', { answer: { sdp: 'x' }, to_peer_id: 'B'.repeat(20) }),
    JSON.stringify({ action: 'scrape', info_hash: 5 }), JSON.stringify({ action: 'scrape', info_hash: [HASH, {}] }),
    JSON.stringify({ action: 'scrape', info_hash: {} }), JSON.stringify({ action: 'nothing' })]
  for (const message of bad) {
    a.ws.send(message)
    expect(await a.next(), message).toHaveProperty('failure reason')
  }
  a.ws.send(announce('A'))
  expect(await a.next()).toMatchObject({ action: 'announce', complete: 1 })
})

it('a scrape must name its info_hash (a full scrape would list every swarm on the tracker), over WebSocket and HTTP', async () => {
  const t = await tracker()
  const a = await connect(t)
  a.ws.send(announce('A'))
  await a.next()
  for (const scrape of [{ action: 'scrape' }, { action: 'scrape', info_hash: [] }]) {
    a.ws.send(JSON.stringify(scrape))
    expect(await a.next()).toEqual({ action: 'scrape', 'failure reason': 'a scrape must name its info_hash' })
  }
  a.ws.send(JSON.stringify({ action: 'scrape', info_hash: HASH }))
  expect(await a.next()).toMatchObject({ action: 'scrape', files: { [HASH]: { complete: 1 } } })
  const base = t.httpUrl!.replace(/\/announce$/, '')
  const full = Buffer.from(await (await fetch(`${base}/scrape`)).arrayBuffer()).toString('latin1')
  expect(full).toContain('failure reason')
  expect(full).not.toContain(HASH)
  const one = Buffer.from(await (await fetch(`${base}/scrape?info_hash=${escape(HASH)}`)).arrayBuffer()).toString('latin1')
  expect(one).toContain(HASH)
})

it(`a message over ${MAX_MESSAGE_BYTES} bytes closes its socket (1009) before the tracker reads it`, async () => {
  const t = await tracker()
  const a = await connect(t)
  const closed = new Promise<number>((resolve) => a.ws.once('close', resolve))
  a.ws.send(announce('A', { junk: 'x'.repeat(MAX_MESSAGE_BYTES) }))
  expect(await closed).toBe(1009)
  const b = await connect(t)
  // An honest announce at its largest: 10 offers, each an SDP of ~16 KiB (many ICE candidates: Docker bridges, IPv6,
  // TURN), \r\n escaped by JSON.
  const sdp = (n: number): string => ['v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:abcd', 'a=ice-pwd:0123456789abcdefghijklmn',
    'a=fingerprint:sha-256 ' + Array.from({ length: 32 }, () => 'AB').join(':'), 'a=setup:actpass', 'a=mid:0', 'a=sctp-port:5000',
    ...Array.from({ length: n }, (_, i) => `a=candidate:${1000000000 + i} 1 udp ${2122260223 - i} ${i % 2 === 0 ? `172.${17 + (i % 14)}.0.1` : `2001:db8:${i.toString(16)}::1`} ${50000 + i} typ ${i % 5 === 4 ? 'relay raddr 203.0.113.7 rport 3478' : 'host'} generation 0 network-id ${i}`)].join('\r\n') + '\r\n'
  const big = sdp(170)
  expect(JSON.stringify(big).length).toBeGreaterThan(16 * 1024)
  const message = announce('B', { offers: Array.from({ length: 10 }, (_, i) => ({ offer: { type: 'offer', sdp: big }, offer_id: String(i).padStart(20, 'o') })) })
  expect(message.length).toBeGreaterThan(160 * 1024)
  b.ws.send(message)
  expect(await b.next()).toMatchObject({ action: 'announce' })
})

it(`one socket joins at most ${MAX_SWARMS_PER_SOCKET} swarms`, async () => {
  const t = await tracker()
  const a = await connect(t)
  for (let i = 0; i < MAX_SWARMS_PER_SOCKET; i++) a.ws.send(announce('A', { info_hash: String(i).padStart(20, 'h') }))
  for (let i = 0; i < MAX_SWARMS_PER_SOCKET; i++) expect(await a.next()).toMatchObject({ action: 'announce' })
  a.ws.send(announce('A', { info_hash: 'n'.repeat(20) }))
  expect(await a.next()).toEqual({ action: 'announce', 'failure reason': expect.stringContaining('at most'), info_hash: 'n'.repeat(20) })
  a.ws.send(announce('A', { info_hash: '0'.padStart(20, 'h'), event: 'update' }))
  expect(await a.next()).toMatchObject({ action: 'announce' })
  // A stopped swarm no longer counts: another may take its place.
  a.ws.send(announce('A', { info_hash: '0'.padStart(20, 'h'), event: 'stopped' }))
  expect(await a.next()).toMatchObject({ action: 'announce' })
  a.ws.send(announce('A', { info_hash: 'n'.repeat(20) }))
  expect(await a.next()).toMatchObject({ action: 'announce', complete: 1, info_hash: 'n'.repeat(20) })
  a.ws.send(announce('A', { info_hash: 'm'.repeat(20) }))
  expect(await a.next()).toEqual({ action: 'announce', 'failure reason': expect.stringContaining('at most'), info_hash: 'm'.repeat(20) })
})

it(`a burst of announces in one write still joins at most ${MAX_SWARMS_PER_SOCKET} swarms (the server counts its joins ticks later)`, async () => {
  const t = await tracker()
  const a = await connect(t)
  const n = MAX_SWARMS_PER_SOCKET + 44
  // Sent without waiting for answers: ws hands the tracker every frame of one read in one tick.
  for (let i = 0; i < n; i++) a.ws.send(announce('A', { info_hash: String(i).padStart(20, 'b') }))
  const answers: Array<Record<string, unknown>> = []
  for (let i = 0; i < n; i++) answers.push(await a.next())
  expect(answers.filter((m) => m['failure reason'] === undefined)).toHaveLength(MAX_SWARMS_PER_SOCKET)
  expect(answers.filter((m) => String(m['failure reason']).includes('at most'))).toHaveLength(n - MAX_SWARMS_PER_SOCKET)
  const b = await connect(t)
  b.ws.send(JSON.stringify({ action: 'scrape', info_hash: [String(0).padStart(20, 'b'), String(n - 1).padStart(20, 'b')] }))
  expect(await b.next()).toMatchObject({ files: { [String(0).padStart(20, 'b')]: { complete: 1 }, [String(n - 1).padStart(20, 'b')]: { complete: 0 } } })
})

it('a refusal is a warning for its own torrent only: bittorrent-tracker\'s client keeps the other torrents on the shared socket', async () => {
  const t = await tracker({ maxSwarmsPerSocket: 2 })
  // Three clients of one announce URL share one WebSocket (the client's socket pool). No offers: numwant 0.
  const clients = ['a', 'b', 'c'].map((c) => {
    const client = new Client({ infoHash: c.repeat(40), peerId: c.repeat(40), announce: [t.url], port: 6881, wrtc: {}, getAnnounceOpts: () => ({ numwant: 0 }) })
    const warnings: string[] = []
    const updates: string[] = []
    client.on('warning', (err: Error) => warnings.push(err.message))
    client.on('update', (data: { action?: unknown, complete: number }) => updates.push(String(data.complete)))
    return { client, warnings, updates }
  })
  try {
    const [a, b, c] = clients as [typeof clients[0], typeof clients[0], typeof clients[0]]
    const until = async (ok: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(ok()).toBe(true)
    }
    a.client.start()
    await until(() => a.updates.length === 1)
    b.client.start()
    await until(() => b.updates.length === 1)
    c.client.start()
    await until(() => c.warnings.length === 1)
    expect(c.warnings[0]).toContain('at most 2 swarms')
    // A refusal without `action` would have ended every tracker on the socket: warnings, reconnects, re-announces.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(a.warnings).toEqual([])
    expect(b.warnings).toEqual([])
    expect(c.warnings).toHaveLength(1)
    // a leaves its swarm; c may now join.
    a.client.stop()
    await new Promise((resolve) => setTimeout(resolve, 100))
    c.client.update()
    await until(() => c.updates.length === 1)
    expect(a.warnings.concat(b.warnings)).toEqual([])
  } finally {
    for (const { client } of clients) client.destroy()
  }
})

it(`a socket is closed (1008) at its ${MAX_BAD_MESSAGES}th malformed message, with one warning naming its address`, async () => {
  const warnings: string[] = []
  const t = await tracker({ onWarning: (message) => warnings.push(message) })
  const a = await connect(t)
  let closed = false
  const close = new Promise<number>((resolve) => a.ws.once('close', (code) => { closed = true; resolve(code) }))
  for (let i = 0; i < MAX_BAD_MESSAGES - 1; i++) {
    a.ws.send(announce('A', { offers: [null] }))
    expect(await a.next()).toHaveProperty('failure reason')
  }
  // Not closed yet: it is still served.
  a.ws.send(announce('A'))
  expect(await a.next()).toMatchObject({ action: 'announce', complete: 1 })
  expect(closed).toBe(false)
  // The last one allowed is answered, then the socket closed; what follows in the same burst is not read.
  for (let i = 0; i < 5; i++) a.ws.send('{')
  expect(await a.next()).toHaveProperty('failure reason')
  expect(await close).toBe(1008)
  expect(warnings).toHaveLength(1)
  expect(warnings[0]).toContain('127.0.0.1')
  // Its swarm is left (the server's own close handling), and others are served.
  const b = await connect(t)
  b.ws.send(announce('B'))
  expect(await b.next()).toMatchObject({ action: 'announce', complete: 1 })
})

it('refusals for a limit do not count as malformed messages: an honest client with too many torrents keeps its socket', async () => {
  const warnings: string[] = []
  const t = await tracker({ maxSwarmsPerSocket: 1, onWarning: (message) => warnings.push(message) })
  const a = await connect(t)
  a.ws.send(announce('A'))
  expect(await a.next()).toMatchObject({ action: 'announce', complete: 1 })
  for (let i = 0; i < MAX_BAD_MESSAGES + 4; i++) {
    a.ws.send(announce('A', { info_hash: String(i).padStart(20, 'x') }))
    expect(await a.next()).toMatchObject({ 'failure reason': expect.stringContaining('at most 1 swarms') })
  }
  a.ws.send(announce('A', { event: 'update' }))
  expect(await a.next()).toMatchObject({ action: 'announce', complete: 1 })
  expect(warnings).toEqual([])
})

/** A tracker of at most 3 swarms, and a socket `a` that has filled them: swarms hash(0) to hash(2). */
async function fullTracker (sweepIntervalMs: number, pad: string): Promise<{ t: TrackerServer, a: Awaited<ReturnType<typeof connect>>, hash: (i: number) => string }> {
  const t = await tracker({ maxSwarms: 3, sweepIntervalMs })
  const hash = (i: number): string => String(i).padStart(20, pad)
  const a = await connect(t)
  for (let i = 0; i < 3; i++) {
    a.ws.send(announce('A', { info_hash: hash(i) }))
    expect(await a.next()).toMatchObject({ action: 'announce', info_hash: hash(i) })
  }
  return { t, a, hash }
}

it('the tracker holds at most maxSwarms swarms: a new one is refused, the ones it holds are served, a left one makes room', async () => {
  // Swept for empty swarms at every refusal here; SWEEP_INTERVAL_MS below.
  const { t, a, hash } = await fullTracker(0, 'g')
  const b = await connect(t)
  b.ws.send(announce('B', { info_hash: hash(3) }))
  expect(await b.next()).toEqual({ action: 'announce', 'failure reason': 'this tracker holds at most 3 swarms', info_hash: hash(3) })
  b.ws.send(announce('B', { info_hash: hash(0) }))
  expect(await b.next()).toMatchObject({ action: 'announce', complete: 2, info_hash: hash(0) })
  // HTTP announces (and UDP ones) make swarms too: the same limit.
  const http = await fetch(`${t.httpUrl}?info_hash=${escape(hash(4))}&peer_id=${escape('H'.repeat(20))}&port=6881&left=0&event=started`)
  expect(Buffer.from(await http.arrayBuffer()).toString('latin1')).toContain('at most 3 swarms')
  // a leaves swarm 2, the only peer there: the empty swarm is dropped when room is needed.
  a.ws.send(announce('A', { info_hash: hash(2), event: 'stopped' }))
  expect(await a.next()).toMatchObject({ action: 'announce', info_hash: hash(2) })
  b.ws.send(announce('B', { info_hash: hash(3) }))
  expect(await b.next()).toMatchObject({ action: 'announce', complete: 1, info_hash: hash(3) })
  // It took the one place made: the tracker is full again.
  b.ws.send(announce('B', { info_hash: hash(5) }))
  expect(await b.next()).toEqual({ action: 'announce', 'failure reason': 'this tracker holds at most 3 swarms', info_hash: hash(5) })
})

it('at maxSwarms, empty swarms are swept at most once per interval, not for each refused announce (each sweep walks every swarm)', async () => {
  const { a, hash } = await fullTracker(3_600_000, 'e')
  // The first refusal sweeps (nothing to drop yet).
  a.ws.send(announce('A', { info_hash: hash(3) }))
  expect(await a.next()).toMatchObject({ 'failure reason': 'this tracker holds at most 3 swarms' })
  // Swarm 0 is left empty, but no sweep runs again within the interval: new swarms are still refused.
  a.ws.send(announce('A', { info_hash: hash(0), event: 'stopped' }))
  expect(await a.next()).toMatchObject({ action: 'announce', info_hash: hash(0) })
  for (let i = 4; i < 24; i++) {
    a.ws.send(announce('A', { info_hash: hash(i) }))
    expect(await a.next()).toMatchObject({ 'failure reason': 'this tracker holds at most 3 swarms', info_hash: hash(i) })
  }
  // The swarms it holds are served.
  a.ws.send(announce('A', { info_hash: hash(1), event: 'update' }))
  expect(await a.next()).toMatchObject({ action: 'announce', complete: 1, info_hash: hash(1) })
})

it('a burst of announces for new swarms still makes at most maxSwarms (the server makes swarms ticks later)', async () => {
  const t = await tracker({ maxSwarms: 5 })
  const a = await connect(t)
  const n = 20
  for (let i = 0; i < n; i++) a.ws.send(announce('A', { info_hash: String(i).padStart(20, 'q') }))
  const answers: Array<Record<string, unknown>> = []
  for (let i = 0; i < n; i++) answers.push(await a.next())
  expect(answers.filter((m) => m['failure reason'] === undefined)).toHaveLength(5)
  expect(answers.filter((m) => String(m['failure reason']).includes('at most 5 swarms'))).toHaveLength(n - 5)
})

/** Whether a new WebSocket to the tracker is served (its announce answered) or closed, and with which code. */
async function tryConnect (t: TrackerServer): Promise<{ ws: WebSocket, served: boolean, code?: number }> {
  const ws = new WebSocket(t.url)
  sockets.push(ws)
  return await new Promise((resolve, reject) => {
    ws.once('error', reject)
    ws.once('open', () => ws.send(announce('C', { event: 'update' })))
    ws.once('message', () => resolve({ ws, served: true }))
    ws.once('close', (code) => resolve({ ws, served: false, code }))
  })
}

it('at most maxConnectionsPerAddress WebSockets from one address: more are closed at once (1008), a closed one makes room', async () => {
  const t = await tracker({ maxConnectionsPerAddress: 2, limitLoopback: true })
  const a = await tryConnect(t)
  const b = await tryConnect(t)
  expect([a.served, b.served]).toEqual([true, true])
  expect(await tryConnect(t)).toMatchObject({ served: false, code: 1008 })
  expect(await tryConnect(t)).toMatchObject({ served: false, code: 1008 })
  // The one still open is served.
  const answer = new Promise((resolve) => b.ws.once('message', resolve))
  b.ws.send(announce('C', { event: 'update' }))
  await answer
  // a closes: once the server has seen it, a new connection is served (tried until then; the refused ones close).
  a.ws.close()
  let next = await tryConnect(t)
  for (let i = 0; i < 100 && !next.served; i++) next = await tryConnect(t)
  expect(next.served).toBe(true)
})

it('maxConnectionsPerAddress 0 is no limit (a TLS proxy on another machine shows every visitor as its own address)', async () => {
  const t = await tracker({ maxConnectionsPerAddress: 0, limitLoopback: true })
  const all = []
  for (let i = 0; i < 5; i++) all.push(await tryConnect(t))
  expect(all.map((c) => c.served)).toEqual([true, true, true, true, true])
})

it('an IPv6 address counts by its /64 (a household or server can connect from any address of it); IPv4 by itself, mapped or not', () => {
  expect(addressGroup('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64')
  expect(addressGroup('2001:0db8:0001:0002:ffff:eeee:dddd:cccc')).toBe('2001:db8:1:2::/64')
  expect(addressGroup('2001:db8::1')).toBe('2001:db8:0:0::/64')
  expect(addressGroup('2001:db8:0:0:1::2')).toBe('2001:db8:0:0::/64')
  expect(addressGroup('2001:db8:1::')).toBe('2001:db8:1:0::/64')
  expect(addressGroup('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
  expect(addressGroup('::1')).toBe('0:0:0:0::/64')
  expect(addressGroup('64:ff9b::1.2.3.4')).toBe('64:ff9b:0:0::/64')
  expect(addressGroup('2001:db8:1:2:3:4:1.2.3.4')).toBe('2001:db8:1:2::/64')
  expect(addressGroup('2001:DB8:1:2::9')).toBe(addressGroup('2001:db8:1:2:8::1'))
  expect(addressGroup('2001:db8:1:3::1')).not.toBe(addressGroup('2001:db8:1:2::1'))
  expect(addressGroup('::ffff:203.0.113.7')).toBe('203.0.113.7')
  // The same mapped address however written (engine/util/ip.ts reads them all to the same bytes).
  expect(addressGroup('::ffff:cb00:7107')).toBe('203.0.113.7')
  expect(addressGroup('0:0:0:0:0:FFFF:203.0.113.7')).toBe('203.0.113.7')
  expect(addressGroup('fe80::1%')).toBe('fe80::1%')
  expect(addressGroup('::ffff:256.0.113.7')).toBe('::ffff:256.0.113.7')
  expect(addressGroup('1::2::3')).toBe('1::2::3')
  expect(addressGroup('203.0.113.7')).toBe('203.0.113.7')
  expect(addressGroup('not an address')).toBe('not an address')
})

it('http: false answers WebSocket announces only: HTTP announces and scrapes get 404, and cannot make swarms', async () => {
  const t = await tracker({ http: false })
  expect(t.httpUrl).toBeUndefined()
  const base = t.url.replace(/^ws:/, 'http:')
  const announced = await fetch(`${base}/announce?info_hash=${escape(HASH)}&peer_id=${escape('H'.repeat(20))}&port=6881&left=0&event=started`)
  expect(announced.status).toBe(404)
  expect((await fetch(`${base}/scrape?info_hash=${escape(HASH)}`)).status).toBe(404)
  const a = await connect(t)
  a.ws.send(announce('A'))
  // Only this WebSocket's announce is in the swarm: the HTTP one above made none and joined none.
  expect(await a.next()).toMatchObject({ action: 'announce', complete: 1, incomplete: 0 })
})

it('loopback addresses are not limited by default: a reverse proxy on this machine shows every visitor as 127.0.0.1', async () => {
  const t = await tracker({ maxConnectionsPerAddress: 2 })
  const all = []
  for (let i = 0; i < 5; i++) all.push(await tryConnect(t))
  expect(all.map((c) => c.served)).toEqual([true, true, true, true, true])
})

/**
 * A WebSocket client over a bare TCP socket that never answers a close frame (ws's client always does): `send`
 * writes a text frame, `frames` are the server's (opcode and payload), `ended` resolves when the server has dropped
 * the TCP connection.
 */
async function rawClient (t: TrackerServer): Promise<{ send: (text: string) => void, frames: Array<{ opcode: number, payload: Buffer }>, ended: Promise<void> }> {
  const socket = tcpConnect(t.port, '127.0.0.1')
  raws.push(socket)
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  const frames: Array<{ opcode: number, payload: Buffer }> = []
  let buffer = Buffer.alloc(0)
  let upgraded: () => void
  const open = new Promise<void>((resolve) => { upgraded = resolve })
  socket.on('data', (data: Buffer) => {
    buffer = Buffer.concat([buffer, data])
    if (frames.length === 0 && buffer.indexOf('\r\n\r\n') !== -1 && buffer.subarray(0, 12).toString() === 'HTTP/1.1 101') {
      buffer = buffer.subarray(buffer.indexOf('\r\n\r\n') + 4)
      upgraded()
    }
    // Server frames, unmasked; the short ones tests send and get (length below 126 or a 16-bit length).
    while (buffer.length >= 2) {
      const short = buffer[1]! & 0x7f
      const start = short === 126 ? 4 : 2
      if (buffer.length < start) break
      const length = short === 126 ? buffer.readUInt16BE(2) : short
      if (buffer.length < start + length) break
      frames.push({ opcode: buffer[0]! & 0x0f, payload: buffer.subarray(start, start + length) })
      buffer = buffer.subarray(start + length)
    }
  })
  socket.on('error', () => {})
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
  await open
  // A masked text frame (clients must mask), with the mask 0: the payload as it is.
  const send = (text: string): void => {
    const payload = Buffer.from(text)
    socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]))
  }
  return { send, frames, ended }
}

const closeCode = (frame: { opcode: number, payload: Buffer } | undefined): number | undefined =>
  frame?.opcode === 0x8 ? frame.payload.readUInt16BE(0) : undefined

// The test's own time-out (10 s) is the bound: ws alone would hold these connections 30 s for the client's answer.
it('a connection over maxConnectionsPerAddress is dropped at once, its close frame not waited for', async () => {
  const t = await tracker({ maxConnectionsPerAddress: 1, limitLoopback: true })
  expect(await tryConnect(t)).toMatchObject({ served: true })
  const raw = await rawClient(t)
  await raw.ended
  expect(closeCode(raw.frames.at(-1))).toBe(1008)
}, 10_000)

it(`a socket closed for its malformed messages that never answers the close frame is dropped after ${CLOSE_GRACE_MS} ms`, async () => {
  const t = await tracker()
  const raw = await rawClient(t)
  for (let i = 0; i < MAX_BAD_MESSAGES; i++) raw.send('{')
  await raw.ended
  expect(raw.frames.filter((f) => f.opcode === 0x1)).toHaveLength(MAX_BAD_MESSAGES)
  expect(closeCode(raw.frames.at(-1))).toBe(1008)
}, 10_000)

it(`every ${HEARTBEAT_MS / 1000} s each WebSocket is pinged; one that did not answer the last ping is dropped`, async () => {
  // The heartbeat's interval only is faked: the test runs its ticks (network and other timers are real).
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
  const t = await tracker()
  const honest = await connect(t)
  const silent = new WebSocket(t.url, { autoPong: false })
  sockets.push(silent)
  await new Promise((resolve, reject) => { silent.once('open', resolve); silent.once('error', reject) })
  const silentClosed = new Promise<number>((resolve) => silent.once('close', resolve))
  const pinged = async (ws: WebSocket): Promise<unknown> => await new Promise((resolve) => ws.once('ping', resolve))
  /** An announce answered: the server has read everything the client sent before it (its pong included). */
  const served = async (): Promise<void> => {
    honest.ws.send(announce('H', { event: 'update' }))
    expect(await honest.next()).toMatchObject({ action: 'announce' })
  }
  await served()
  for (let tick = 1; tick <= 3; tick++) {
    const honestPinged = pinged(honest.ws)
    const silentPinged = tick === 1 ? pinged(silent) : undefined
    vi.advanceTimersByTime(HEARTBEAT_MS)
    // ws's client answered the ping (its pong is sent before 'ping' is emitted).
    await honestPinged
    await silentPinged
    await served()
    // The second tick drops the socket that did not answer the first ping.
    if (tick === 2) expect(await silentClosed).toBe(1006)
  }
  expect(honest.ws.readyState).toBe(WebSocket.OPEN)
  // Closing the tracker stops the heartbeat.
  expect(vi.getTimerCount()).toBe(1)
  honest.ws.terminate()
  await servers.splice(servers.indexOf(t), 1)[0]!.close()
  expect(vi.getTimerCount()).toBe(0)
}, 10_000)

it('a throw where the tracker makes a swarm (a later tick, out of the server\'s own tries) refuses that announce, and the process goes on', async () => {
  const t = await tracker({ maxSwarms: 2 })
  const a = await connect(t)
  const real = Server.Swarm
  Server.Swarm = class { constructor () { throw new Error('no swarm today') } } as unknown as typeof Server.Swarm
  try {
    a.ws.send(announce('A', { info_hash: 'x'.repeat(20) }))
    expect(await a.next()).toEqual({ action: 'announce', 'failure reason': 'no swarm today', info_hash: 'x'.repeat(20) })
  } finally {
    Server.Swarm = real
  }
  // Nothing was counted for it: two swarms still fit.
  for (const h of ['x', 'y']) {
    a.ws.send(announce('A', { info_hash: h.repeat(20) }))
    expect(await a.next()).toMatchObject({ action: 'announce', complete: 1, info_hash: h.repeat(20) })
  }
  a.ws.send(announce('A', { info_hash: 'w'.repeat(20) }))
  expect(await a.next()).toMatchObject({ 'failure reason': 'this tracker holds at most 2 swarms' })
})

it('sockets closed for malformed messages: at most one warning line per address a minute, the others counted', async () => {
  // The clock (performance.now) and the heartbeat's interval are faked; network and other timers are real.
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] })
  const warnings: string[] = []
  const t = await tracker({ onWarning: (message) => warnings.push(message) })
  const junk = async (): Promise<void> => {
    const a = await connect(t)
    const closed = new Promise((resolve) => a.ws.once('close', resolve))
    for (let i = 0; i < MAX_BAD_MESSAGES; i++) a.ws.send('{')
    await closed
  }
  const line = `closed a tracker WebSocket from 127.0.0.1 after ${MAX_BAD_MESSAGES} malformed messages`
  const counted = (n: number): string => `closed ${n} more tracker WebSockets from 127.0.0.1 after ${MAX_BAD_MESSAGES} malformed messages in the minute after the last warning about it`
  expect(WARNING_INTERVAL_MS).toBe(HEARTBEAT_MS)
  // Time 0 s.
  for (let i = 0; i < 3; i++) await junk()
  expect(warnings).toEqual([line])
  vi.advanceTimersByTime(30_000)
  await junk()
  expect(warnings).toEqual([line])
  // 60 s: the heartbeat reports the closes of that minute not reported yet.
  vi.advanceTimersByTime(30_000)
  expect(warnings).toEqual([line, counted(3)])
  // 70 s: a line again; 120 s: the heartbeat has nothing to report (70 s is less than a minute before).
  vi.advanceTimersByTime(10_000)
  await junk()
  await junk()
  vi.advanceTimersByTime(50_000)
  expect(warnings).toEqual([line, counted(3), line])
  // 135 s: the next one's line gives the count.
  vi.advanceTimersByTime(15_000)
  await junk()
  expect(warnings).toEqual([line, counted(3), line, `${line} (and 1 more in the minute after the last warning about it)`])
})

it('closing the tracker closes the WebSockets still open (the HTTP server waits for every connection to end)', async () => {
  const t = await tracker()
  const a = await connect(t)
  a.ws.send(announce('A'))
  await a.next()
  const closed = new Promise((resolve) => a.ws.once('close', resolve))
  await servers.splice(servers.indexOf(t), 1)[0]!.close()
  await closed
}, 10_000)
