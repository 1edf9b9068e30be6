/**
 * The wire protocol over TCP on 127.0.0.1: the shared listener routes each accepted connection to its torrent by
 * the handshake's infohash (and drops what is not a BitTorrent handshake for a torrent it serves), and two engine
 * Torrents exchange a whole torrent over it, the leecher dialling an address handed to its TcpDiscovery (as PEX,
 * a tracker or the DHT would).
 */
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { TCP_MAX_BUFFERED_BYTES } from '../../../../engine/constants.js'
import { TcpDiscovery } from '../../../../engine/discovery/tcp.js'
import { MemoryStore } from '../../../../engine/storage/memory.js'
import { Torrent } from '../../../../engine/torrent.js'
import { TcpListener } from '../../../../engine/transport/tcp-listener.js'
import type { TcpConnection } from '../../../../engine/transport/tcp.js'
import { concatBytes, fromHex, randomBytes, toHex, utf8 } from '../../../../engine/util/bytes.js'
import { makeTorrent, randomData } from '../../../fixtures/make-torrent.js'
import { sameBytes, seederOf } from '../../../fixtures/engine-peers.js'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function listener (): Promise<TcpListener> {
  const l = await TcpListener.listen({ host: '127.0.0.1', port: 0 })
  cleanups.push(async () => await l.close())
  return l
}

function handshake (infoHash: Uint8Array): Uint8Array {
  return concatBytes([new Uint8Array([19]), utf8.encode('BitTorrent protocol'), new Uint8Array(8), infoHash, randomBytes(20)])
}

/** Connects, writes `bytes`, and resolves with whether the listener closed the socket (within 2 s). */
async function closedAfterSending (port: number, bytes: Uint8Array): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(bytes))
    const timer = setTimeout(() => { socket.destroy(); resolve(false) }, 2000)
    socket.on('close', () => { clearTimeout(timer); resolve(true) })
    socket.on('error', () => {})
  })
}

describe('TcpListener', () => {
  it('hands a connection to the torrent its handshake names, the handshake bytes included', async () => {
    const l = await listener()
    const infoHash = randomBytes(20)
    const sent = handshake(infoHash)
    const handed: TcpConnection[] = []
    l.register('00'.repeat(20), () => { throw new Error('wrong torrent') })
    // Listeners attach as soon as the connection is handed over (as Torrent.addConnection does).
    const received = new Promise<Uint8Array>((resolve) => {
      l.register(toHex(infoHash), (conn) => {
        handed.push(conn)
        let all: Uint8Array = new Uint8Array(0)
        conn.on('data', (chunk) => {
          all = concatBytes([all, chunk])
          if (all.length >= sent.length + 5) resolve(all)
        })
      })
    })
    const socket = connect({ host: '127.0.0.1', port: l.port }, () => {
      // In pieces, some after routing: everything arrives, in order.
      socket.write(sent.subarray(0, 30))
      setTimeout(() => socket.write(sent.subarray(30)), 20)
      setTimeout(() => socket.write(new Uint8Array([0, 0, 0, 1, 2])), 60)
    })
    cleanups.push(() => socket.destroy())
    const all = await received
    expect(sameBytes(all.subarray(0, sent.length), sent)).toBe(true)
    expect([...all.subarray(sent.length)]).toEqual([0, 0, 0, 1, 2])
    expect(handed).toHaveLength(1)
    expect(handed[0]!.initiator).toBe(false)
    expect(handed[0]!.identity.address).toBe('127.0.0.1')
  })

  it('drops a handshake for a torrent it does not serve, and bytes that are not a BitTorrent handshake', async () => {
    const l = await listener()
    l.register(toHex(randomBytes(20)), () => { throw new Error('must not be reached') })
    expect(await closedAfterSending(l.port, handshake(randomBytes(20)))).toBe(true)
    expect(await closedAfterSending(l.port, utf8.encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe(true)
    const wrongProtocol = handshake(randomBytes(20))
    wrongProtocol[5] = 0x21
    expect(await closedAfterSending(l.port, wrongProtocol)).toBe(true)
  })
})

describe('TcpConnection', () => {
  it(`closes a connection whose remote does not read once ${TCP_MAX_BUFFERED_BYTES} bytes wait to be sent`, async () => {
    const l = await listener()
    const infoHash = randomBytes(20)
    const handed = new Promise<TcpConnection>((resolve) => l.register(toHex(infoHash), resolve))
    // The remote sends its handshake and never reads again: the kernel's buffers fill, then Node's.
    const socket = connect({ host: '127.0.0.1', port: l.port }, () => { socket.write(handshake(infoHash)); socket.pause() })
    socket.on('error', () => {})
    cleanups.push(() => socket.destroy())
    const conn = await handed
    const errors: string[] = []
    conn.on('error', (err) => errors.push(err.message))
    const chunk = new Uint8Array(65_536)
    let sent = 0
    // What an echo of the remote's own messages could queue without end (each write is what one message asks for).
    while (!conn.closed && sent < 2 * TCP_MAX_BUFFERED_BYTES) {
      conn.send(chunk)
      sent += chunk.length
      if (sent % (4 * 1_048_576) === 0) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    // Was: never closed, twice the cap queued in Node's buffer.
    expect(conn.closed).toBe(true)
    expect(sent).toBeLessThanOrEqual(TCP_MAX_BUFFERED_BYTES + 8 * 1_048_576)
    expect(errors.some((e) => /does not read/.test(e))).toBe(true)
  })
})

describe('two engine Torrents over TCP', () => {
  it('a leecher that dials an address it was given downloads the whole torrent from the listener\'s seeder', async () => {
    const data = randomData(700_000, 3)
    const { metainfo } = await makeTorrent([{ path: 'a.bin', data }], 32 * 1024)
    const l = await listener()
    const seeder = await seederOf(metainfo, data)
    cleanups.push(async () => await seeder.destroy())
    cleanups.push(l.register(metainfo.infoHash, (conn) => seeder.addConnection(conn)))

    let discovery: TcpDiscovery | undefined
    const store = new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length })
    const leecher = new Torrent({
      createStore: () => store,
      createDiscovery: (init) => (discovery = new TcpDiscovery(init))
    }, { infoHash: fromHex(metainfo.infoHash) })
    cleanups.push(async () => await leecher.destroy())
    const done = new Promise<void>((resolve) => leecher.once('done', resolve))
    // By infohash alone: the metadata comes over TCP too (BEP 9).
    discovery!.addPeers([{ ip: '127.0.0.1', port: l.port }])
    await done
    for (let i = 0; i < metainfo.pieceCount; i++) {
      const piece = await store.get(i)
      expect(sameBytes(piece, data.subarray(i * metainfo.pieceLength, Math.min(data.length, (i + 1) * metainfo.pieceLength)))).toBe(true)
    }
    expect(seeder.stats().uploaded).toBeGreaterThanOrEqual(metainfo.length)
    expect([...leecher.peers][0]!.connection.remoteAddress).toBe(`tcp 127.0.0.1:${l.port}`)
  })
})
