/**
 * The pointer records over real Torrents (in-memory transport): in the pointer swarm (infohash = BEP 46 target, no
 * metadata on either side) and in a site's swarm; a Torrent without an exchange does not advertise the extension.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { fullBitfield } from '../../../engine/bitfield.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { generateEd25519, nodeSigner } from '../../../engine/pointer/node.js'
import { PointerBook, pointerTarget, signPointer, webCryptoVerifier, type VerifiedPointer } from '../../../engine/pointer/index.js'
import { PointerExchange } from '../../../engine/pointer-exchange.js'
import { toHex } from '../../../engine/util/bytes.js'
import type { Peer } from '../../../engine/wire/peer.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'
import { connectTorrents, storeWith } from '../../fixtures/engine-peers.js'

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

const site = generateEd25519()

function exchange (book: PointerBook): { exchange: PointerExchange<Peer>, learnt: Promise<VerifiedPointer>, warnings: Error[] } {
  const warnings: Error[] = []
  let resolve!: (r: VerifiedPointer) => void
  const learnt = new Promise<VerifiedPointer>((r) => { resolve = r })
  return {
    exchange: new PointerExchange<Peer>({ book, warn: (_peer, err) => warnings.push(err), onNewer: (record, peer) => { if (peer !== undefined) resolve(record) } }),
    learnt,
    warnings
  }
}

const newBook = (): PointerBook => new PointerBook({ verifier: webCryptoVerifier() }, { publicKey: site.publicKey })

describe('peersite_pointer between Torrents', () => {
  it('a visitor in the pointer swarm learns the newest record from the publisher', async () => {
    const target = toHex(await pointerTarget(site.publicKey))
    const publisherSide = exchange(newBook())
    await publisherSide.exchange.publish(await signPointer(nodeSigner(site.seed), { infoHash: 'ab'.repeat(20), seq: 7 }))
    const visitorSide = exchange(newBook())
    const publisher = new Torrent({ createStore: () => new MemoryStore({ pieceLength: 1, length: 1 }) }, { infoHash: target, pointer: publisherSide.exchange })
    const visitor = new Torrent({ createStore: () => new MemoryStore({ pieceLength: 1, length: 1 }) }, { infoHash: target, pointer: visitorSide.exchange })
    torrents.push(publisher, visitor)
    connectTorrents(publisher, visitor)
    const record = await visitorSide.learnt
    expect(record.infoHash).toBe('ab'.repeat(20))
    expect(record.seq).toBe(7)
    expect(visitorSide.warnings).toEqual([])
  })

  it('in a site\'s swarm, a newer record published later reaches a connected visitor; a Torrent without an exchange is not offered it', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'index.html', data: randomData(20_000, 1) }])
    const publisherSide = exchange(newBook())
    const store = await storeWith(metainfo, data)
    const seeder = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo, have: fullBitfield(metainfo.pieceCount), pointer: publisherSide.exchange })
    const visitorSide = exchange(newBook())
    const visitor = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, { infoHash: metainfo.infoHash, pointer: visitorSide.exchange })
    const plain = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, { infoHash: metainfo.infoHash })
    torrents.push(seeder, visitor, plain)
    const plainPeers: Peer[] = []
    seeder.on('peer', (p) => plainPeers.push(p))
    connectTorrents(seeder, visitor)
    connectTorrents(seeder, plain)
    await new Promise<void>((resolve) => plain.once('done', () => resolve()))
    await publisherSide.exchange.publish(await signPointer(nodeSigner(site.seed), { infoHash: 'cd'.repeat(20), seq: 8 }))
    expect((await visitorSide.learnt).infoHash).toBe('cd'.repeat(20))
    // What each side advertised: the plain Torrent's handshake names ut_metadata only.
    const advertised = plainPeers.map((p) => Object.keys(p.extended?.m ?? {}).sort().join(','))
    expect(advertised.sort()).toEqual(['peersite_pointer,ut_metadata', 'ut_metadata'])
  })
})
