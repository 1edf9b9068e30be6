/**
 * The worker behind a gateway keeps only the site its host name names: a manifest and torrent a page provides are
 * kept if the torrent's info dictionary hashes to that infohash and the manifest names it, and refused otherwise.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { gatewayOf } from '../../../worker/gateway-source.js'
import { siteIdOf } from '../../../engine/util/site-id.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'
import type { Metainfo } from '../../../engine/metainfo/index.js'

/** Cache Storage as a map of maps (Node has Request and Response, not caches). */
function memoryCaches (): { caches: unknown, entries: Map<string, Map<string, Response>> } {
  const entries = new Map<string, Map<string, Response>>()
  const open = async (name: string): Promise<unknown> => {
    const cache = entries.get(name) ?? new Map<string, Response>()
    entries.set(name, cache)
    return {
      put: async (url: string, res: Response) => { cache.set(url, res) },
      match: async (url: string) => cache.get(url)?.clone()
    }
  }
  return { caches: { open }, entries }
}

const torrentOf = (metainfo: Metainfo): Uint8Array => {
  const head = new TextEncoder().encode('d4:info')
  return new Uint8Array([...head, ...metainfo.info, 0x65])
}

const manifestOf = (metainfo: Metainfo): string => JSON.stringify({
  version: 1, infoHash: metainfo.infoHash, name: metainfo.name, trackers: [], pieceLength: metainfo.pieceLength,
  length: metainfo.length, files: metainfo.files.map((f) => ({ path: f.path, length: f.length, type: 'text/html' }))
})

describe('GatewaySource (gateway/sw.js): the host name fixes the site', () => {
  let store: ReturnType<typeof memoryCaches>
  const saved = (globalThis as { caches?: unknown }).caches
  beforeEach(() => {
    store = memoryCaches()
    ;(globalThis as { caches?: unknown }).caches = store.caches
  })
  afterEach(() => { (globalThis as { caches?: unknown }).caches = saved })

  it('keeps the site the host name names, and answers peersite.json and site.torrent with it', async () => {
    const { metainfo } = await makeTorrent([{ path: 'index.html', data: randomData(40_000) }])
    const scope = `http://${siteIdOf(metainfo.infoHash)}.localhost:8888/`
    const source = gatewayOf(new URL(scope).hostname, scope)!
    expect(source.infoHash).toBe(metainfo.infoHash)
    const held = await source.held(new Request(`${scope}peersite.json`))
    expect(held.status).toBe(404)
    await source.provide(manifestOf(metainfo), torrentOf(metainfo))
    expect(JSON.parse(await source.manifest()).infoHash).toBe(metainfo.infoHash)
    expect(await source.torrent()).toEqual(torrentOf(metainfo))
    expect(await (await source.held(new Request(`${scope}peersite.json`))).text()).toBe(manifestOf(metainfo))
    expect(new Uint8Array(await (await source.held(new Request(`${scope}site.torrent`))).arrayBuffer())).toEqual(torrentOf(metainfo))
  })

  it('refuses another site, a manifest naming another site, and a torrent that does not match the manifest', async () => {
    const { metainfo: ours } = await makeTorrent([{ path: 'index.html', data: randomData(40_000, 1) }])
    const { metainfo: theirs } = await makeTorrent([{ path: 'index.html', data: randomData(40_000, 2) }])
    const scope = `http://${siteIdOf(ours.infoHash)}.localhost:8888/`
    const source = gatewayOf(new URL(scope).hostname, scope)!
    // Another site's manifest and torrent, consistent with each other.
    await expect(source.provide(manifestOf(theirs), torrentOf(theirs))).rejects.toThrow(/another site/)
    // Our infohash in the manifest, their torrent.
    await expect(source.provide(manifestOf({ ...theirs, infoHash: ours.infoHash }), torrentOf(theirs))).rejects.toThrow(/not the torrent/)
    expect(store.entries.get(`peersite:${scope}`)?.size ?? 0).toBe(0)
    expect(await source.held(new Request(`${scope}site.torrent`)).then((r) => r.status)).toBe(404)
  })

  it('a refused site fails the requests waiting for it and those after it, until a page provides one that checks out', async () => {
    const { metainfo: ours } = await makeTorrent([{ path: 'index.html', data: randomData(40_000, 1) }])
    const { metainfo: theirs } = await makeTorrent([{ path: 'index.html', data: randomData(40_000, 2) }])
    const scope = `http://${siteIdOf(ours.infoHash)}.localhost:8888/`
    const source = gatewayOf(new URL(scope).hostname, scope)!
    const waiting = source.manifest()
    await expect(source.provide(manifestOf(theirs), torrentOf(theirs))).rejects.toThrow(/another site/)
    await expect(waiting).rejects.toThrow(/refused: .*another site/)
    await expect(source.torrent()).rejects.toThrow(/refused/)
    await source.provide(manifestOf(ours), torrentOf(ours))
    expect(JSON.parse(await source.manifest()).infoHash).toBe(ours.infoHash)
    expect(await source.torrent()).toEqual(torrentOf(ours))
  })

  it('no gateway source for a host without a site id; a site key id names the key, its infohash still unknown', () => {
    expect(gatewayOf('localhost', 'http://localhost:8888/')).toBeUndefined()
    // A nested name is no site: its page could set cookies for the inner site's origin.
    const [a, b] = [siteIdOf('01'.repeat(20)), siteIdOf('02'.repeat(20))]
    expect(gatewayOf(`${a}.${b}.localhost`, `http://${a}.${b}.localhost:8888/`)).toBeUndefined()
    const key = siteIdOf('ab'.repeat(32))
    const source = gatewayOf(`${key}.localhost`, `http://${key}.localhost:8888/`)
    expect(source?.publicKey).toBe('ab'.repeat(32))
    expect(source?.infoHash).toBe('')
  })
})
