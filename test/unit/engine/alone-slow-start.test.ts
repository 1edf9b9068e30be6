/**
 * The slow start (UNPROVEN_PEER_REQUESTS requests at a peer that has not delivered yet) is skipped for the only source
 * there is: no other peer connected and the trackers counted nobody else in the swarm. Then no other peer could take
 * the blocks, and the slow start only cost the first page a round trip (a site seeded by its publisher alone).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Bitfield } from '../../../engine/bitfield.js'
import { MAX_OUTSTANDING_REQUESTS, UNPROVEN_PEER_REQUESTS } from '../../../engine/constants.js'
import type { Metainfo } from '../../../engine/metainfo/index.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import type { Connection } from '../../../engine/transport/index.js'
import { WireDecoder, type DecodedItem } from '../../../engine/wire/codec.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'
import { NoDiscovery, storeWith } from '../../fixtures/engine-peers.js'

const PIECE = 64 * 1024
const fixture = makeTorrent([{ path: 'site.bin', data: randomData(64 * PIECE, 5) }], PIECE)

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

/** A discovery that finds nobody by itself but reports the trackers' count of other peers. */
class CountingDiscovery extends NoDiscovery {
  constructor (readonly others: number | undefined) { super() }
  alone (): boolean { return (this.others ?? 2) < 2 }
}

/** A seeder that never answers a request (its store reads wait forever): nothing is delivered, the leecher's peer stays unproven. */
async function silentSeeder (metainfo: Metainfo, data: Uint8Array): Promise<Torrent> {
  const store = await storeWith(metainfo, data)
  store.get = async () => await new Promise<Uint8Array>(() => {})
  const seed = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo, have: Bitfield.full(metainfo.pieceCount) })
  torrents.push(seed)
  return seed
}

function leecher (metainfo: Metainfo, others: number | undefined | 'none'): Torrent {
  const torrent = new Torrent({
    createStore: () => new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length }),
    createDiscovery: () => others === 'none' ? new NoDiscovery() : new CountingDiscovery(others)
  }, { infoHash: metainfo.infoHash, metainfo })
  torrents.push(torrent)
  return torrent
}

/** Requests `conn` sends. */
function requestsSent (conn: Connection): { n: number } {
  const counter = { n: 0 }
  const decoder = new WireDecoder({ maxMessageLength: 1 << 20 })
  const send = conn.send.bind(conn)
  conn.send = (bytes: Uint8Array) => {
    for (const item of decoder.push(bytes.slice()) as DecodedItem[]) if (item.kind === 'message' && item.message.type === 'request') counter.n++
    send(bytes)
  }
  return counter
}

/** Connects a fresh leecher to `seeds` and returns the requests sent to the first once they have settled. */
async function firstRequests (others: number | undefined | 'none', seeds = 1): Promise<number> {
  const { metainfo, data } = await fixture
  const torrent = leecher(metainfo, others)
  let first: { n: number } | undefined
  for (let i = 0; i < seeds; i++) {
    const seed = await silentSeeder(metainfo, data)
    const [ours, theirs] = memoryConnectionPair()
    const sent = requestsSent(ours)
    first ??= sent
    torrent.addConnection(ours)
    seed.addConnection(theirs)
  }
  const deadline = Date.now() + 2000
  while (first!.n === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  await new Promise((resolve) => setTimeout(resolve, 100)) // any later request would have gone out by now
  return first!.n
}

describe('slow start of a peer that has not delivered', () => {
  it('is skipped when the trackers counted nobody else and no other peer is connected', async () => {
    expect(await firstRequests(1)).toBe(MAX_OUTSTANDING_REQUESTS)
  })

  it('is kept when the trackers counted other peers', async () => {
    expect(await firstRequests(2)).toBe(UNPROVEN_PEER_REQUESTS)
  })

  it('is kept before any tracker has counted, or without a count at all', async () => {
    expect(await firstRequests(undefined)).toBe(UNPROVEN_PEER_REQUESTS)
    expect(await firstRequests('none')).toBe(UNPROVEN_PEER_REQUESTS)
  })

  it('is kept when another peer is connected, whatever the trackers counted', async () => {
    expect(await firstRequests(1, 2)).toBe(UNPROVEN_PEER_REQUESTS)
  })
})
