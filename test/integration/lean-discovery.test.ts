/**
 * The dependency-free WebSocket tracker client and WebRTC transport (what browsers load) over real WebRTC
 * (node-datachannel) and a real tracker in this process: lean <-> lean, lean <-> the simple-peer based
 * TrackerDiscovery in both roles, and a whole download by infohash from a TrackerDiscovery seeder.
 */
// First: adds the end-of-candidates event node-datachannel's polyfill lacks (simple-peer waits for it).
import { nodeWrtc } from '../../engine/transport/node-wrtc.js'
import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { RTCPeerConnection } from 'node-datachannel/polyfill'
import { WebSocket } from 'ws'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startSeeder } from '../../cli/lib/swarm.js'
import type { Discovery } from '../../engine/discovery/index.js'
import { TrackerDiscovery } from '../../engine/discovery/tracker.js'
import {
  WebSocketTrackerDiscovery, type WebSocketConstructor, type WebSocketTrackerDiscoveryInit
} from '../../engine/discovery/websocket-tracker.js'
import { MemoryStore } from '../../engine/storage/memory.js'
import { Torrent, createPeerId } from '../../engine/torrent.js'
import type { Connection } from '../../engine/transport/index.js'
import type { RTCPeerConnectionConstructor } from '../../engine/transport/webrtc.js'
import { concatBytes, randomBytes, toHex } from '../../engine/util/bytes.js'
import { makeTorrent, randomData } from '../fixtures/make-torrent.js'
import { makeTempDir } from '../helpers/tmp.js'
import { startTrackerServer, trackerUrlFor, type TrackerServer } from '../helpers/tracker.js'
import { assertInNetns, rtcConfig } from '../helpers/webrtc.js'

const TEST_TIMEOUT = 60_000

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

beforeAll(() => assertInNetns())

async function tracker (): Promise<TrackerServer> {
  // WebSocket clients re-announce every intervalMs / 5: 1 s, so a late joiner is offered to quickly.
  const t = await startTrackerServer({ intervalMs: 5_000 })
  cleanups.push(() => t.close())
  return t
}

/**
 * The `ws` WebSocket, optionally tracing every tracker message with a timestamp (LEAN_TRACE=1) to see where the
 * time of a slow connection went.
 */
const T0 = Date.now()
const TracedWebSocket = process.env.LEAN_TRACE === '1'
  ? class extends (WebSocket as unknown as new (url: string) => { send: (d: string) => void, addEventListener: (t: string, l: (e: { data: unknown }) => void) => void }) {
    constructor (url: string) {
      super(url)
      const name = url.slice(url.lastIndexOf('/') + 1)
      const short = (d: unknown): string => String(d).replace(/"sdp":"[^"]*"/g, '"sdp":…').replace(/[\x00-\x1f\x7f-\uffff]/g, '.').slice(0, 200)
      this.addEventListener('message', (e) => console.log(`${Date.now() - T0} ms ${name} <- ${short(e.data)}`))
      const send = this.send.bind(this)
      this.send = (d: string) => {
        console.log(`${Date.now() - T0} ms ${name} -> ${short(d)}`)
        send(d)
      }
    }
  }
  : WebSocket

let pcCount = 0
const TracedPeerConnection = process.env.LEAN_TRACE === '1'
  ? class extends RTCPeerConnection {
    constructor (config?: RTCConfiguration) {
      super(config)
      const n = ++pcCount
      const log = (what: string): void => console.log(`${Date.now() - T0} ms pc${n} ${what}`)
      for (const t of ['connectionstatechange', 'icegatheringstatechange', 'signalingstatechange'] as const) {
        this.addEventListener(t, () => log(`${t} ${this.connectionState}/${this.iceGatheringState}/${this.signalingState}`))
      }
      this.addEventListener('datachannel', () => log('datachannel'))
      const setRemote = this.setRemoteDescription.bind(this)
      this.setRemoteDescription = async (d) => {
        log(`setRemoteDescription ${d.type} (${(d.sdp?.match(/a=candidate/g) ?? []).length} candidates)`)
        return await setRemote(d)
      }
      const close = this.close.bind(this)
      this.close = () => { log(`close ${new Error().stack?.split('\n').slice(2, 5).join(' | ')}`); close() }
    }
  }
  : RTCPeerConnection

function lean (init: Omit<WebSocketTrackerDiscoveryInit, 'WebSocket' | 'RTCPeerConnection' | 'rtcConfig'>): WebSocketTrackerDiscovery {
  const d = new WebSocketTrackerDiscovery({
    ...init,
    WebSocket: TracedWebSocket as unknown as WebSocketConstructor,
    RTCPeerConnection: TracedPeerConnection as unknown as RTCPeerConnectionConstructor,
    rtcConfig
  })
  cleanups.push(() => d.destroy())
  return d
}

function classic (init: { infoHash: Uint8Array, peerId: Uint8Array, announce: string[], numwant?: number }): TrackerDiscovery {
  const d = new TrackerDiscovery({ ...init, wrtc: nodeWrtc, rtcConfig, announceIntervalMs: 1000 })
  cleanups.push(() => d.destroy())
  return d
}

const STATS = { uploaded: 0, downloaded: 0, left: 1000 }

function nextConnection (d: Discovery): Promise<Connection> {
  return new Promise((resolve) => {
    d.once('connection', (c) => {
      cleanups.push(() => c.close())
      resolve(c)
    })
  })
}

/**
 * Every connection `d` emits from now on. Both sides re-announce every second, so more than one connection may
 * form between the same two peers, and "the first" on one side need not be the other side's first.
 */
function allConnections (d: Discovery): { list: Connection[], onNew: ((c: Connection) => void) | undefined } {
  const out: { list: Connection[], onNew: ((c: Connection) => void) | undefined } = { list: [], onNew: undefined }
  d.on('connection', (c) => {
    cleanups.push(() => c.close())
    out.list.push(c)
    out.onNew?.(c)
  })
  return out
}

function nextAnnounce (d: Discovery): Promise<void> {
  return new Promise((resolve) => d.once('announced', resolve))
}

/** Collects everything `conn` receives until `length` bytes have arrived. */
function receive (conn: Connection, length: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let got = 0
  return new Promise((resolve, reject) => {
    conn.on('data', (chunk) => {
      chunks.push(chunk.slice())
      got += chunk.length
      if (got >= length) resolve(concatBytes(chunks))
    })
    conn.on('close', () => reject(new Error(`closed after ${got} of ${length} bytes`)))
  })
}

/**
 * Sends bytes from `a` (a connection of one peer) to the other peer, finds which of `others` (that peer's
 * connections) they arrived on, and sends bytes back on that one: both directions, checked byte for byte.
 */
async function exchange (a: Connection, others: ReturnType<typeof allConnections>): Promise<Connection> {
  const ab = randomData(300_000, 11)
  const ba = randomData(70_000, 12)
  const b = new Promise<Connection>((resolve) => {
    const watch = (c: Connection): void => {
      receive(c, ab.length).then((got) => { if (toHex(got) === toHex(ab)) resolve(c) }, () => {})
    }
    others.list.forEach(watch)
    others.onNew = watch
  })
  for (let i = 0; i < ab.length; i += 16384) a.send(ab.subarray(i, i + 16384))
  const cb = await b
  const atA = receive(a, ba.length)
  for (let i = 0; i < ba.length; i += 10000) cb.send(ba.subarray(i, i + 10000))
  expect(toHex(await atA)).toBe(toHex(ba))
  return cb
}

describe('lean WebSocket tracker discovery over real WebRTC', () => {
  it('two lean peers find each other and exchange bytes both ways', async () => {
    const t = await tracker()
    const infoHash = randomBytes(20)
    // B sends no offers: A offers, B answers.
    const b = lean({ infoHash, peerId: createPeerId(), announce: [t.url], numwant: 0 })
    const bAnnounced = nextAnnounce(b)
    const atB = allConnections(b)
    b.start(STATS)
    await bAnnounced
    const a = lean({ infoHash, peerId: createPeerId(), announce: [t.url] })
    const atA = nextConnection(a)
    a.start(STATS)
    const ca = await atA
    expect(ca.initiator).toBe(true)
    const cb = await exchange(ca, atB)
    expect(cb.initiator).toBe(false)
    // Read from the selected candidate pair's stats soon after the channel opened.
    expect(ca.remoteAddress).toMatch(/^webrtc 10\.77\.0\.[12]:\d+$/)
    // Closing one side closes the other.
    const closed = new Promise<void>((resolve) => cb.on('close', resolve))
    ca.close()
    await closed
    expect(cb.closed).toBe(true)
  }, TEST_TIMEOUT)

  for (const offering of ['lean', 'simple-peer'] as const) {
    it(`a lean peer and a simple-peer (TrackerDiscovery) peer connect, ${offering} offering`, async () => {
      const t = await tracker()
      const infoHash = randomBytes(20)
      const leanNumwant = offering === 'lean' ? 5 : 0
      const classicNumwant = offering === 'lean' ? 0 : 5
      // The answering side joins first, so the offering side's first announce reaches it.
      const start = async (which: 'lean' | 'simple-peer'): Promise<Discovery> => {
        const d = which === 'lean'
          ? lean({ infoHash, peerId: createPeerId(), announce: [trackerUrlFor(t, 'lean')], numwant: leanNumwant })
          : classic({ infoHash, peerId: createPeerId(), announce: [trackerUrlFor(t, 'classic')], numwant: classicNumwant })
        const announced = nextAnnounce(d)
        d.start(STATS)
        await announced
        return d
      }
      // Where a run that does not finish stands (seen once in CI under load: a 60 s timeout with no other sign).
      let stage = 'the answering side announces'
      let atAnswering: ReturnType<typeof allConnections> | undefined
      const report = setTimeout(() => console.log(`lean-discovery (${offering} offering) still waiting after 50 s: ${stage}; connections at the answering side: ${atAnswering?.list.length ?? 0}`), 50_000)
      cleanups.push(() => clearTimeout(report))
      const answering = await start(offering === 'lean' ? 'simple-peer' : 'lean')
      atAnswering = allConnections(answering)
      stage = 'the offering side announces'
      const offeringSide = await start(offering)
      stage = 'the offering side\'s first connection'
      const co = await nextConnection(offeringSide)
      expect(co.initiator).toBe(true)
      stage = 'the exchange of bytes both ways'
      const ca = await exchange(co, atAnswering)
      expect(ca.initiator).toBe(false)
    }, TEST_TIMEOUT)
  }

  it('an engine Torrent with lean discovery downloads a 2 MB site by infohash from a TrackerDiscovery seeder', async () => {
    const t = await tracker()
    const dir = await makeTempDir()
    cleanups.push(() => dir.cleanup())
    const files = [
      { path: 'index.html', data: new TextEncoder().encode('<h1>lean</h1>') },
      { path: 'media/big.bin', data: randomData(2 * 1024 * 1024, 7) }
    ]
    const root = join(dir.path, 'site')
    for (const f of files) {
      await mkdir(join(root, f.path, '..'), { recursive: true })
      await writeFile(join(root, f.path), f.data)
    }
    const { metainfo, data } = await makeTorrent(files, 64 * 1024)
    const seeder = await startSeeder({ metainfo, root, trackers: [trackerUrlFor(t, 'seeder')], rtcConfig, announceIntervalMs: 1000 })
    cleanups.push(() => seeder.close())

    let store: MemoryStore | undefined
    const warnings: string[] = []
    const leecher = new Torrent({
      createStore: (m) => (store = new MemoryStore({ pieceLength: m.pieceLength, length: m.length })),
      createDiscovery: (init) => new WebSocketTrackerDiscovery({
        ...init,
        announce: [trackerUrlFor(t, 'leecher')],
        rtcConfig,
        WebSocket: TracedWebSocket as unknown as WebSocketConstructor,
        RTCPeerConnection: TracedPeerConnection as unknown as RTCPeerConnectionConstructor
      })
    }, { infoHash: metainfo.infoHash })
    cleanups.push(() => leecher.destroy())
    leecher.on('warning', (err) => warnings.push(err.message))
    const started = Date.now()
    await new Promise<void>((resolve) => leecher.once('done', resolve))
    const ms = Date.now() - started
    expect(leecher.metainfo?.infoHash).toBe(metainfo.infoHash)
    const pieces: Uint8Array[] = []
    for (let i = 0; i < metainfo.pieceCount; i++) pieces.push(await store!.get(i))
    const got = concatBytes(pieces)
    const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex')
    expect(got.length).toBe(data.length)
    expect(sha1(got)).toBe(sha1(data))
    expect(leecher.stats().verified).toBe(metainfo.length)
    console.log(`lean leecher: ${metainfo.length} bytes in ${ms} ms; warnings: ${JSON.stringify(warnings)}`)
  }, TEST_TIMEOUT)
})
