/**
 * The HTTP (BEP 3/23) and UDP (BEP 15) tracker clients against bittorrent-tracker's server in this process (the one
 * `peersite tracker` runs, on 127.0.0.1), and the HTTP answer parser against hostile bytes.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { startTrackerServer, type TrackerServer } from '../../../../cli/lib/tracker-server.js'
import { announceTo, decodeCompactPeers, parseHttpAnswer, percentEncodeBytes, type AnnounceRequest } from '../../../../engine/discovery/http-tracker.js'
import { TrackerError } from '../../../../engine/errors.js'
import { TRACKER_MAX_PEERS } from '../../../../engine/constants.js'
import { bencode } from '../../../../engine/util/bencode.js'
import { randomBytes, utf8 } from '../../../../engine/util/bytes.js'

const servers: TrackerServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
})

function request (infoHash: Uint8Array, port: number, left = 0): AnnounceRequest {
  return { infoHash, peerId: randomBytes(20), port, uploaded: 0, downloaded: 0, left, event: 'started', numwant: 50, key: 1 }
}

describe.each(['http', 'udp'] as const)('announcing over %s', (kind) => {
  it('a second peer is told the first one\'s address and port; the tracker\'s interval is honoured within bounds', async () => {
    const tracker = await startTrackerServer({ intervalMs: 120_000 })
    servers.push(tracker)
    const url = kind === 'http' ? tracker.httpUrl! : tracker.udpUrl!
    const infoHash = randomBytes(20)
    const first = await announceTo(url, request(infoHash, 7001))
    // bittorrent-tracker may hand a peer its own address back (TcpDiscovery skips it): nobody else is there yet.
    expect(first.peers.filter((p) => p.port !== 7001)).toEqual([])
    expect(first.intervalMs).toBe(120_000)
    const second = await announceTo(url, request(infoHash, 7002, 100))
    expect(second.peers).toContainEqual({ ip: '127.0.0.1', port: 7001 })
  })
})

it('HTTP and UDP announces of one torrent share a swarm (one tracker, one port)', async () => {
  const tracker = await startTrackerServer()
  servers.push(tracker)
  expect(new URL(tracker.httpUrl!).port).toBe(new URL(tracker.udpUrl!).port)
  const infoHash = randomBytes(20)
  await announceTo(tracker.httpUrl!, request(infoHash, 7101))
  const viaUdp = await announceTo(tracker.udpUrl!, request(infoHash, 7102, 1))
  expect(viaUdp.peers).toContainEqual({ ip: '127.0.0.1', port: 7101 })
})

it('a tracker that does not answer UDP rejects when the signal ends it, never hangs', async () => {
  const tracker = await startTrackerServer({ udp: false })
  servers.push(tracker)
  const signal = AbortSignal.timeout(300)
  await expect(announceTo(`udp://127.0.0.1:${tracker.port}`, { ...request(randomBytes(20), 1), signal })).rejects.toThrow()
})

describe('parseHttpAnswer', () => {
  const url = 'http://t.example/announce'
  it('reads compact IPv4 and IPv6 peers and dictionary peers', () => {
    const compact = new Uint8Array([10, 0, 0, 1, 0x1a, 0xe1, 192, 168, 1, 2, 0, 80])
    const six = new Uint8Array(18)
    six[15] = 1
    six[16] = 0x1a
    six[17] = 0xe1
    expect(parseHttpAnswer(url, bencode({ interval: 60, peers: compact, peers6: six })).peers).toEqual([
      { ip: '10.0.0.1', port: 6881 }, { ip: '192.168.1.2', port: 80 }, { ip: '0:0:0:0:0:0:0:1', port: 6881 }
    ])
    expect(parseHttpAnswer(url, bencode({ peers: [{ ip: utf8.encode('1.2.3.4'), port: 5 }, { ip: utf8.encode('x'), port: 0 }, 7] })).peers)
      .toEqual([{ ip: '1.2.3.4', port: 5 }])
  })

  it('gives an IPv4-mapped peer, compact or not, as its IPv4 address: the same contact as in `peers`', () => {
    const six = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1, 0x1a, 0xe1])
    const list = ['::ffff:10.0.0.2', '::FFFF:a00:3'].map((ip) => ({ ip: utf8.encode(ip), port: 6881 }))
    expect(parseHttpAnswer(url, bencode({ peers6: six })).peers).toEqual([{ ip: '10.0.0.1', port: 6881 }])
    expect(parseHttpAnswer(url, bencode({ peers: list })).peers).toEqual([{ ip: '10.0.0.2', port: 6881 }, { ip: '10.0.0.3', port: 6881 }])
  })

  it('takes only IP literals from a dictionary peer list (never a name to look up and dial)', () => {
    const entries = ['1.2.3.4', 'tracker.example', 'localhost', '::1', 'fe80::1%eth0', '1.2.3.256'].map((ip) => ({ ip: utf8.encode(ip), port: 6881 }))
    expect(parseHttpAnswer(url, bencode({ peers: entries })).peers).toEqual([{ ip: '1.2.3.4', port: 6881 }, { ip: '::1', port: 6881 }])
  })

  it('keeps at most TRACKER_MAX_PEERS of one answer, compact or not', () => {
    const compact = new Uint8Array(43_000 * 6).map((_, i) => (i % 6 === 5 ? 1 : 10))
    const six = new Uint8Array(100 * 18).map((_, i) => (i % 18 === 17 ? 1 : 0x20))
    expect(parseHttpAnswer(url, bencode({ peers: compact, peers6: six })).peers).toHaveLength(TRACKER_MAX_PEERS)
    const dicts = Array.from({ length: 1000 }, (_, i) => ({ ip: utf8.encode(`10.0.${i >> 8}.${i & 255}`), port: 6881 }))
    expect(parseHttpAnswer(url, bencode({ peers: dicts })).peers).toHaveLength(TRACKER_MAX_PEERS)
  })

  it('keeps the interval within bounds', () => {
    expect(parseHttpAnswer(url, bencode({ interval: 1, peers: new Uint8Array(0) })).intervalMs).toBe(30_000)
    expect(parseHttpAnswer(url, bencode({ interval: 10 ** 9, peers: new Uint8Array(0) })).intervalMs).toBe(3_600_000)
  })

  it.each([
    ['a failure reason', bencode({ 'failure reason': utf8.encode('torrent not registered') }), /torrent not registered/],
    ['bytes that are not bencoding', utf8.encode('<html>502</html>'), /not bencoded/],
    ['a list', bencode([1, 2]), /not a dictionary/]
  ])('refuses %s with a TrackerError', (_, body, message) => {
    expect(() => parseHttpAnswer(url, body)).toThrow(TrackerError)
    expect(() => parseHttpAnswer(url, body)).toThrow(message)
  })

  it('skips port-0 contacts and a ragged tail', () => {
    expect(decodeCompactPeers(new Uint8Array([1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0, 9, 1]), 4)).toEqual([{ ip: '5.6.7.8', port: 9 }])
  })
})

it('percent-encodes binary query values byte by byte (BEP 3)', () => {
  expect(percentEncodeBytes(new Uint8Array([0x12, 0x34, 0x41, 0x7e, 0xff, 0x20]))).toBe('%124A~%ff%20')
})
