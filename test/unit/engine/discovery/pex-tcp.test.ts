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
import { Bitfield } from '../../../../engine/bitfield.js'
import { makeTorrent, randomData } from '../../../fixtures/make-torrent.js'
import { storeWith } from '../../../fixtures/engine-peers.js'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Node { torrent: Torrent, port: number, discovery: TcpDiscovery, heard: PeerAddress[] }

async function node (metainfo: Metainfo, data: Uint8Array | undefined, pex: boolean): Promise<Node> {
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
    ...(data !== undefined ? { have: Bitfield.full(metainfo.pieceCount) } : {}),
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
  // Large enough, and pieces small enough, that nobody is done before the first PEX round (one tick, 1 s).
  const data = randomData(4_000_000, 5)
  const { metainfo } = await makeTorrent([{ path: 'a.bin', data }], 16 * 1024)
  const seeder = await node(metainfo, data, true)
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
  plain.discovery.addPeers([{ ip: '127.0.0.1', port: seeder.port }])
  await until(() => [...seeder.torrent.peers].some((p) => p.extended !== undefined), 'the extended handshake')
  const remote = [...seeder.torrent.peers].find((p) => p.extended !== undefined)!
  expect(remote.extended!.m.ut_pex).toBeUndefined()
  expect(remote.extended!.p).toBe(undefined)
})
