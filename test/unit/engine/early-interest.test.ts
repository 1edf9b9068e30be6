/**
 * A torrent that lacks pieces says `interested` as soon as the handshakes are exchanged, right after its own bitfield
 * (BEP 3: the bitfield is only ever the first message) and before the remote's bitfield: the remote's choker can
 * unchoke it as it reads the bitfield, one round trip sooner than interest sent once the remote's bitfield arrived.
 * Once the bitfield shows nothing it lacks, it says `not-interested`; a complete torrent never says `interested`.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Bitfield, fullBitfield } from '../../../engine/bitfield.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import { encodeHandshake, encodeMessage, WireDecoder, type DecodedItem } from '../../../engine/wire/codec.js'
import type { Connection } from '../../../engine/transport/index.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

const PIECE = 16 * 1024
const tick = async (): Promise<void> => await new Promise((resolve) => setTimeout(resolve, 20))
/** Waits (up to 5 s, for a loaded machine) until `done` holds, then one more tick for anything sent right after. */
async function until (done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 5000; waited += 20) await tick()
  await tick()
}

/** A torrent on one end of a connection; the other end is the test's, decoded message by message. */
async function connected (have?: Bitfield): Promise<{ remote: Connection, received: DecodedItem[], infoHash: Uint8Array, pieceCount: number }> {
  const { metainfo } = await makeTorrent([{ path: 'a.bin', data: randomData(8 * PIECE, 5) }], PIECE)
  const torrent = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, {
    infoHash: metainfo.infoHash, metainfo, ...(have !== undefined ? { have } : {})
  })
  torrents.push(torrent)
  const [remote, local] = memoryConnectionPair()
  const decoder = new WireDecoder({ maxMessageLength: 1 << 20 })
  const received: DecodedItem[] = []
  remote.on('data', (chunk) => { received.push(...decoder.push(chunk)) })
  torrent.addConnection(local)
  for (let waited = 0; received.length === 0 && waited < 5000; waited += 20) await tick()
  return { remote, received, infoHash: Uint8Array.from(Buffer.from(metainfo.infoHash, 'hex')), pieceCount: metainfo.pieceCount }
}

const types = (items: DecodedItem[]): string[] => items.map((i) => i.kind === 'handshake' ? 'handshake' : i.message.type)

describe('interest from the handshake on', () => {
  it('a torrent that lacks pieces is interested once the handshakes are exchanged, before the remote\'s bitfield', async () => {
    const { remote, received, infoHash } = await connected()
    expect(types(received)).toEqual(['handshake'])
    remote.send(encodeHandshake({ infoHash, peerId: new Uint8Array(20).fill(7) }))
    await until(() => types(received).includes('interested'))
    expect(types(received).filter((t) => t !== 'extended')).toEqual(['handshake', 'interested'])
  })

  it('says interested after its own bitfield, and not-interested once the remote\'s shows nothing it lacks', async () => {
    const have = new Bitfield(8)
    have.set(0)
    const { remote, received, infoHash } = await connected(have)
    remote.send(encodeHandshake({ infoHash, peerId: new Uint8Array(20).fill(7) }))
    await until(() => types(received).includes('interested'))
    expect(types(received).filter((t) => t !== 'extended')).toEqual(['handshake', 'bitfield', 'interested'])
    const before = received.length
    remote.send(encodeMessage({ type: 'bitfield', bitfield: Uint8Array.of(0x80) }))
    await until(() => types(received.slice(before)).includes('not-interested'))
    const after = types(received.slice(before))
    expect(after).toContain('not-interested')
    expect(after).not.toContain('request')
  })

  it('a complete torrent is never interested', async () => {
    const { remote, received, infoHash } = await connected(fullBitfield(8))
    remote.send(encodeHandshake({ infoHash, peerId: new Uint8Array(20).fill(7) }))
    await until(() => types(received).includes('bitfield'))
    expect(types(received)).not.toContain('interested')
    expect(types(received)[0]).toBe('handshake')
  })
})
