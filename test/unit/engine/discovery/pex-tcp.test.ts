/**
 * ut_pex over TCP (BEP 11): three engine Torrents on 127.0.0.1, each with its own TCP port. Two leechers know only
 * the seeder; the seeder tells each about the other (the one that dialled it, at the port its BEP 10 `p` names),
 * so each learns the other's address without any tracker. A peer without the exchange (a browser's torrent) does
 * not advertise ut_pex at all.
 */
import { afterEach, expect, it } from 'vitest'
import type { PeerAddress } from '../../../../engine/discovery/http-tracker.js'
import { TcpPeerExchange } from '../../../../engine/discovery/pex.js'
import { TcpDiscovery } from '../../../../engine/discovery/tcp.js'
import type { Metainfo } from '../../../../engine/metainfo/index.js'
import { MemoryStore } from '../../../../engine/storage/memory.js'
import { Torrent } from '../../../../engine/torrent.js'
import { TcpListener } from '../../../../engine/transport/tcp-listener.js'
import { TcpConnection } from '../../../../engine/transport/tcp.js'
import { UT_PEX, decodePex } from '../../../../engine/extensions/ut_pex.js'
import { fullBitfield } from '../../../../engine/bitfield.js'
import { TCP_MAX_KNOWN_ADDRESSES } from '../../../../engine/constants.js'
import type { Peer } from '../../../../engine/wire/peer.js'
import { makeTorrent, randomData } from '../../../fixtures/make-torrent.js'
import { storeWith } from '../../../fixtures/engine-peers.js'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Node { torrent: Torrent, port: number, discovery: TcpDiscovery, heard: PeerAddress[] }

/** `have`: the pieces a node with `data` holds (default all of them). */
async function node (metainfo: Metainfo, data: Uint8Array | undefined, pex: boolean, have = fullBitfield(metainfo.pieceCount)): Promise<Node> {
  const listener = await TcpListener.listen({ host: '127.0.0.1', port: 0 })
  cleanups.push(async () => await listener.close())
  const exchange = pex ? new TcpPeerExchange({ listenPort: listener.port }) : undefined
  const heard: PeerAddress[] = []
  let discovery: TcpDiscovery | undefined
  const store = data !== undefined ? await storeWith(metainfo, data) : new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length })
  const torrent = new Torrent({
    createStore: () => store,
    createDiscovery: (init) => {
      discovery = new TcpDiscovery({ ...init, listener })
      exchange?.connect((addresses) => {
        heard.push(...addresses)
        discovery!.addPeers(addresses)
      })
      return discovery
    }
  }, {
    infoHash: metainfo.infoHash,
    metainfo,
    ...(data !== undefined ? { have } : {}),
    ...(exchange !== undefined ? { pex: exchange } : {})
  })
  cleanups.push(async () => await torrent.destroy())
  return { torrent, port: listener.port, discovery: discovery!, heard }
}

async function until (check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

it('leechers that know only the seeder learn each other\'s listening address from it', async () => {
  const data = randomData(1_000_000, 5)
  const { metainfo } = await makeTorrent([{ path: 'a.bin', data }], 16 * 1024)
  // The seeder lacks the last piece, so no leecher completes before the first PEX round (one tick, 1 s): a leecher
  // announces its pieces to seeds too, and a seed may drop a peer that has become complete (two seeds have nothing to
  // give each other, once slots are scarce), after which it would not tell the other leecher about it. On loopback, megabytes take less
  // than that tick.
  const have = fullBitfield(metainfo.pieceCount)
  have.set(metainfo.pieceCount - 1, false)
  const seeder = await node(metainfo, data, true, have)
  const a = await node(metainfo, undefined, true)
  const b = await node(metainfo, undefined, true)
  a.discovery.addPeers([{ ip: '127.0.0.1', port: seeder.port }])
  b.discovery.addPeers([{ ip: '127.0.0.1', port: seeder.port }])
  await until(() => a.heard.some((p) => p.port === b.port) && b.heard.some((p) => p.port === a.port), 'both leechers to hear of each other')
  expect(a.heard).toContainEqual({ ip: '127.0.0.1', port: b.port })
  expect(b.heard).toContainEqual({ ip: '127.0.0.1', port: a.port })
})

it('a torrent without the exchange does not advertise ut_pex, and is sent no PEX', async () => {
  const data = randomData(200_000, 6)
  const { metainfo } = await makeTorrent([{ path: 'a.bin', data }], 16 * 1024)
  const seeder = await node(metainfo, data, true)
  const plain = await node(metainfo, undefined, false)
  // The peer is kept from the event: once `plain` has everything (at once, on loopback), the seeder may drop the link
  // between two seeds (once slots are scarce), and its peer set is empty again.
  const peers: Peer[] = []
  seeder.torrent.on('peer', (p) => peers.push(p))
  plain.discovery.addPeers([{ ip: '127.0.0.1', port: seeder.port }])
  await until(() => peers.some((p) => p.extended !== undefined), 'the extended handshake')
  const remote = peers.find((p) => p.extended !== undefined)!
  expect(remote.extended!.m.ut_pex).toBeUndefined()
  expect(remote.extended!.p).toBe(undefined)
})

it('tells no peer a link-local IPv6 address with its zone (as Node names one: fe80::1%eth0), and does not throw on it', () => {
  // Stand-ins for connected TCP peers: only what the exchange reads of them.
  const socket = (remoteAddress: string): unknown => ({ remoteAddress, remotePort: 51413, setNoDelay () {}, on () {}, pause () {}, resume () {}, writableLength: 0, write () {}, destroy () {} })
  const sent: Uint8Array[] = []
  const peer = (ip: string, initiator: boolean): Peer => ({
    connection: new TcpConnection(socket(ip) as ConstructorParameters<typeof TcpConnection>[0], { initiator }),
    receivedHandshake: true,
    destroyed: false,
    extended: { m: { [UT_PEX]: 3 }, p: 6881 },
    has: undefined,
    writeExtension: (_name: string, payload: Uint8Array) => { sent.push(payload); return true }
  }) as unknown as Peer
  const exchange = new TcpPeerExchange({ listenPort: 6881 })
  exchange.tick(new Set([peer('fe80::fc:ff:fe00:1%eth0', false), peer('10.0.0.2', true), peer('10.0.0.3', true)]), 0)
  // Each of the three hears of the others it can dial: never of the link-local one.
  const told = sent.map((payload) => decodePex(payload).added.map((c) => c.ip).sort())
  expect(told).toEqual([['10.0.0.2', '10.0.0.3'], ['10.0.0.3'], ['10.0.0.2']])
})

it('a peer exchange that throws in its tick is a warning of the torrent, and the next tick runs again', async () => {
  const { metainfo } = await makeTorrent([{ path: 'a.bin', data: randomData(20_000, 5) }])
  let ticks = 0
  const warnings: string[] = []
  const torrent = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, {
    infoHash: metainfo.infoHash,
    metainfo,
    pex: { onMessage () {}, onPeerClose () {}, tick () { ticks++; throw new RangeError('invalid IP address fe80::1%eth0') } }
  })
  cleanups.push(async () => await torrent.destroy())
  torrent.on('warning', (e) => warnings.push(e.message))
  // Without the catch, the first throw escapes the timer: an uncaught exception that vitest reports as a failure.
  await until(() => ticks >= 2, 'two ticks')
  expect(warnings).toContain('invalid IP address fe80::1%eth0')
})

it('past TCP_MAX_KNOWN_ADDRESSES, forgets the oldest idle addresses first (one batch as large as a tracker answer)', () => {
  const asked: string[] = []
  // wantsPeer refusing stops each round of dials at the first idle address: it names the oldest one kept, and nothing is dialled.
  const discovery = new TcpDiscovery({ infoHash: new Uint8Array(20), peerId: new Uint8Array(20).fill(1), wantsPeer: (id) => { asked.push(id); return false } })
  cleanups.push(async () => await discovery.destroy())
  discovery.start({ uploaded: 0, downloaded: 0, left: 1 })
  const address = (i: number): PeerAddress => ({ ip: `10.0.${i >> 8}.${i & 255}`, port: 6881 })
  discovery.addPeers(Array.from({ length: TCP_MAX_KNOWN_ADDRESSES + 3 }, (_, i) => address(i)))
  expect(asked).toEqual([`tcp ${address(3).ip}:6881`])
  discovery.addPeers([address(TCP_MAX_KNOWN_ADDRESSES + 3)])
  expect(asked.at(-1)).toBe(`tcp ${address(4).ip}:6881`)
})

it('one peer named by its IPv4 address and by its IPv4-mapped address, however spelt, is one address to dial', async () => {
  // A port nothing listens on: the one dial is refused at once.
  const closed = await TcpListener.listen({ host: '127.0.0.1', port: 0 })
  const port = closed.port
  await closed.close()
  const asked: string[] = []
  const discovery = new TcpDiscovery({ infoHash: new Uint8Array(20), peerId: new Uint8Array(20).fill(1), wantsPeer: (id) => { asked.push(id); return true } })
  cleanups.push(async () => await discovery.destroy())
  discovery.start({ uploaded: 0, downloaded: 0, left: 1 })
  // As a tracker's peers, a PEX added6 (decoded in full) and a dual-stack socket may name it.
  discovery.addPeers(['127.0.0.1', '::ffff:127.0.0.1', '::FFFF:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1'].map((ip) => ({ ip, port })))
  expect(asked).toEqual([`tcp 127.0.0.1:${port}`])
})
