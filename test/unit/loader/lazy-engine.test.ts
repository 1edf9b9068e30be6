/**
 * The leader's engine for a site with a sectioned index starts without the info dictionary (loader/lazy-metainfo.ts):
 * each read the worker opens brings its pieces' hashes, the engine fetches exactly those pieces from a peer and
 * verifies them, nothing else is fetched, and site.torrent later completes the metainfo in place.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Metainfo } from '../../../engine/metainfo/index.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { EngineHost } from '../../../loader/engine-host.js'
import { isLazy, lazyMetainfo, upgradeMetainfo } from '../../../loader/lazy-metainfo.js'
import { holdBackground } from '../../../loader/prefetch.js'
import type { EngineReply, EngineRequest } from '../../../worker/protocol.js'
import { connectTorrents, pieceOf, sameBytes, seederOf } from '../../fixtures/engine-peers.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'

const PIECE = 16 * 1024
const torrents: Torrent[] = []
const ports: MessagePort[] = []

afterEach(async () => {
  for (const p of ports.splice(0)) p.close()
  for (const t of torrents.splice(0)) await t.destroy()
})

async function setup (): Promise<{ metainfo: Metainfo, data: Uint8Array, leech: Torrent, ask: (r: EngineRequest) => Promise<EngineReply> }> {
  const { metainfo, data } = await makeTorrent([
    { path: 'a.html', data: randomData(3 * PIECE + 100, 1) },
    { path: 'posts/b.html', data: randomData(2 * PIECE, 2) },
    { path: 'c.css', data: randomData(5 * PIECE, 3) }
  ], PIECE)
  const seeder = await seederOf(metainfo, data)
  const lazy = lazyMetainfo({ infoHash: metainfo.infoHash, name: 'site', pieceLength: metainfo.pieceLength, length: metainfo.length })
  const store = new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length })
  const leech = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo: lazy })
  holdBackground(leech)
  torrents.push(seeder, leech)
  connectTorrents(seeder, leech)
  const channel = new MessageChannel()
  ports.push(channel.port1, channel.port2)
  const host = new EngineHost(channel.port1, Promise.resolve(leech))
  const replies: EngineReply[] = []
  const waiting: Array<(r: EngineReply) => void> = []
  channel.port2.onmessage = (event: MessageEvent<EngineReply>) => {
    const w = waiting.shift()
    if (w !== undefined) w(event.data)
    else replies.push(event.data)
  }
  const ask = async (r: EngineRequest): Promise<EngineReply> => {
    channel.port2.postMessage(r)
    if (r.type !== 'pull') return { type: 'end', id: -1 }
    const ready = replies.shift()
    return ready ?? await new Promise((resolve) => waiting.push(resolve))
  }
  void host
  return { metainfo, data, leech, ask }
}

const hashesOf = (metainfo: Metainfo, first: number, last: number): ArrayBuffer => metainfo.pieceHashes.slice(first * 20, (last + 1) * 20).buffer

describe('an engine started without the info dictionary', () => {
  it('fetches and verifies the pieces a read names, with the hashes it brings, and nothing else', async () => {
    const { metainfo, data, leech, ask } = await setup()
    expect(isLazy(leech.metainfo!)).toBe(true)
    // posts/b.html: bytes [3 * PIECE + 100, 5 * PIECE + 100) -> pieces 3..5.
    const first = 3
    const last = 5
    await ask({ type: 'read', id: 1, path: 'posts/b.html', offset: 0, length: 2 * PIECE, first, last, hashes: hashesOf(metainfo, 0, last) })
    for (let i = first; i <= last; i++) {
      const reply = await ask({ type: 'pull', id: 1 })
      expect(reply.type).toBe('piece')
      if (reply.type !== 'piece') return
      expect(reply.index).toBe(i)
      expect(sameBytes(new Uint8Array(reply.bytes), pieceOf(metainfo, data, i))).toBe(true)
    }
    expect((await ask({ type: 'pull', id: 1 })).type).toBe('end')
    // Only those pieces: the background is held and no other hash is known.
    expect([...Array(metainfo.pieceCount).keys()].filter((i) => leech.have!.has(i))).toEqual([3, 4, 5])
  })

  it('refuses a read without hashes for a file it does not know, and hashes that do not fit', async () => {
    const { metainfo, ask } = await setup()
    await ask({ type: 'read', id: 1, path: 'a.html', offset: 0, length: 10, first: 0, last: 0 })
    expect(await ask({ type: 'pull', id: 1 })).toMatchObject({ type: 'error', kind: 'not-found' })
    await ask({ type: 'read', id: 2, path: 'a.html', offset: 0, length: 10, first: 0, last: metainfo.pieceCount, hashes: new ArrayBuffer(20 * (metainfo.pieceCount + 1)) })
    expect(await ask({ type: 'pull', id: 2 })).toMatchObject({ type: 'error', kind: 'range' })
  })

  it('is completed by site.torrent: reads by path and the whole-site download work as for any torrent', async () => {
    const { metainfo, leech, ask } = await setup()
    upgradeMetainfo(leech.metainfo!, metainfo)
    expect(leech.metainfo!.files.map((f) => f.path)).toEqual(['a.html', 'posts/b.html', 'c.css'])
    await ask({ type: 'read', id: 1, path: 'c.css', offset: 0, length: 10, first: 0, last: 0 })
    expect(await ask({ type: 'pull', id: 1 })).toMatchObject({ type: 'piece', index: 5 })
    leech.setWanted(0, metainfo.pieceCount - 1, true)
    await new Promise<void>((resolve) => { if (leech.done) resolve(); else leech.once('done', () => resolve()) })
    expect(leech.have!.complete).toBe(true)
  })
})
