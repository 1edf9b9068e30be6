/**
 * What the worker checks before it serves a keyed site's newer version (worker/version.ts): the record signed by the
 * address's key (WebCrypto Ed25519, as in the browser), a higher seq, and the info dictionary the record names.
 */
import { describe, expect, it, vi } from 'vitest'
import { generateEd25519, nodeSigner } from '../../../engine/pointer/node.js'
import { btpkMagnet, pointerToJson, signPointer } from '../../../engine/pointer/index.js'
import { bencode } from '../../../engine/util/bencode.js'
import { sha1, toHex, utf8 } from '../../../engine/util/bytes.js'
import type { WorkerState } from '../../../worker/handlers/state.js'
import type { SiteManifest } from '../../../worker/protocol.js'
import { createSite } from '../../../worker/site.js'
import { checkVersion, Versions } from '../../../worker/version.js'

const content = utf8.encode('<h1>version 2</h1>\n')

async function torrentOf (bytes: Uint8Array): Promise<{ info: Uint8Array, infoHash: string }> {
  const info = bencode({ length: bytes.length, name: utf8.encode('index.html'), 'piece length': 16384, pieces: await sha1(bytes) })
  return { info, infoHash: toHex(await sha1(info)) }
}

async function fixture (): Promise<{ base: SiteManifest, manifest: (seq: number, signer?: ReturnType<typeof nodeSigner>, infoHash?: string) => Promise<SiteManifest>, info: Uint8Array, infoHash: string }> {
  const { seed, publicKey } = generateEd25519()
  const signer = nodeSigner(seed)
  const { info, infoHash } = await torrentOf(content)
  const v1 = await signPointer(signer, { infoHash: 'a'.repeat(40), seq: 10 })
  const base: SiteManifest = {
    version: 1, infoHash: 'a'.repeat(40), name: 'site', trackers: [], pieceLength: 16384, length: 1,
    files: [{ path: 'index.html', length: 1, type: 'text/html' }], address: btpkMagnet(publicKey), pointer: pointerToJson(v1)
  }
  const manifest = async (seq: number, by = signer, ih = infoHash): Promise<SiteManifest> => ({
    ...base,
    infoHash,
    length: content.length,
    files: [{ path: 'index.html', length: content.length, type: 'text/html' }],
    pointer: pointerToJson(await signPointer(by, { infoHash: ih, seq }))
  })
  return { base, manifest, info, infoHash }
}

describe('checkVersion', () => {
  it('accepts a newer version signed by the site key whose info dictionary is the one named', async () => {
    const { base, manifest, info, infoHash } = await fixture()
    const version = await checkVersion(base, 10, await manifest(11), info)
    expect(version.seq).toBe(11)
    expect(version.manifest.infoHash).toBe(infoHash)
    expect(utf8.decode(version.torrent)).toContain('d4:info')
  })

  it('refuses a rollback, another key, a bad signature and metadata that is not the signed version', async () => {
    const { base, manifest, info } = await fixture()
    await expect(checkVersion(base, 11, await manifest(11), info)).rejects.toThrow(/not newer/)
    await expect(checkVersion(base, 10, await manifest(9), info)).rejects.toThrow(/not newer/)
    const stranger = nodeSigner(generateEd25519().seed)
    await expect(checkVersion(base, 10, await manifest(11, stranger), info)).rejects.toThrow(/key/)
    const forged = await manifest(11)
    const sig = forged.pointer!.sig
    const bad = { ...forged, pointer: { ...forged.pointer!, sig: (sig[0] === '0' ? '1' : '0') + sig.slice(1) } }
    await expect(checkVersion(base, 10, bad, info)).rejects.toThrow(/signature/)
    const other = await torrentOf(utf8.encode('<h1>something else</h1>\n'))
    await expect(checkVersion(base, 10, await manifest(11), other.info)).rejects.toThrow()
    await expect(checkVersion(base, 10, await manifest(11, undefined, other.infoHash), info)).rejects.toThrow(/signed version/)
  })

  it('keeps the loader folder\'s rules and trackers, whatever the page\'s manifest says', async () => {
    const { base: plain, manifest, info } = await fixture()
    const base: SiteManifest = { ...plain, trackers: ['wss://tracker.example'], redirects: [{ from: '/old', to: '/index.html', status: 301 }] }
    const page = { ...(await manifest(11)), trackers: ['wss://evil.example'], redirects: [{ from: '/*', to: 'https://evil.example/:splat', status: 302 }], spa: true }
    const version = await checkVersion(base, 10, page, info)
    expect(version.manifest.trackers).toEqual(['wss://tracker.example'])
    expect(version.manifest.redirects).toEqual(base.redirects)
    expect(version.manifest.spa).toBeUndefined()
  })

  it('Versions serves the accepted version as peersite.json and site.torrent, and refuses an older one after it', async () => {
    const { base, manifest, info, infoHash } = await fixture()
    const versions = new Versions('https://example.test/site/')
    expect(versions.file('peersite.json')).toBeUndefined()
    const state = stateOf(base)
    expect((await versions.accept(state, await manifest(12), info)).infoHash).toBe(infoHash)
    expect(state.site?.infoHash).toBe(infoHash)
    expect((JSON.parse(await versions.file('peersite.json')!.text()) as SiteManifest).infoHash).toBe(infoHash)
    expect(new Uint8Array(await versions.file('site.torrent')!.arrayBuffer()).length).toBe(info.length + 'd4:infoe'.length)
    await expect(versions.accept(state, await manifest(11), info)).rejects.toThrow(/not newer/)
  })

  it('a keyed site with a sectioned index moves to a newer version that lists its files; one with an index is refused', async () => {
    const { base: plain, manifest, info } = await fixture()
    const base: SiteManifest = { ...plain, files: [], index: { version: 1, sections: ['0'.repeat(32)], files: 1 } }
    // As loader/follow.ts versionManifest builds it (test/unit/loader/follow.test.ts): no index, every file listed.
    const next = await manifest(11)
    const versions = new Versions('https://example.test/site/')
    const state = stateOf(base)
    expect((await versions.accept(state, next, info)).files.get('index.html')?.length).toBe(content.length)
    expect(versions.current?.seq).toBe(11)
    // A page that sends version 1's index along (the old loader did): refused with a reason, nothing half-switched.
    await expect(checkVersion(base, 10, { ...(await manifest(12)), index: base.index }, info)).rejects.toThrow(/sectioned index/)
  })

  it('a version the worker cannot serve (adopt throws) does not become the current one', async () => {
    const { base, manifest, info } = await fixture()
    const versions = new Versions('https://example.test/site/')
    const state = { base, adopt: () => { throw new Error('no peersite-index.js') } } as unknown as WorkerState
    await expect(versions.accept(state, await manifest(11), info)).rejects.toThrow(/peersite-index/)
    expect(versions.current).toBeUndefined()
    expect(versions.file('peersite.json')).toBeUndefined()
  })

  it('two offers in flight: the older one, checked last, does not replace the newer one, served or kept', async () => {
    const { base, manifest, info, infoHash } = await fixture()
    const versions = new Versions('https://example.test/site/')
    let loads = 0
    const state = Object.assign(stateOf(base), { loadSite: async () => { loads++ } })
    const kept = new Map<string, Response>()
    const g = globalThis as { caches?: unknown }
    const saved = g.caches
    g.caches = { open: async () => ({ put: async (url: string, res: Response) => { kept.set(url, res) } }) }
    // Seq 11's signature check waits until seq 12 has been offered through.
    let release = (): void => {}
    const held = new Promise<void>((resolve) => { release = resolve })
    const verify = crypto.subtle.verify.bind(crypto.subtle)
    const spy = vi.spyOn(crypto.subtle, 'verify').mockImplementationOnce(async (...args) => { await held; return await verify(...args) })
    try {
      const eleven = versions.offer(state, await manifest(11), info)
      const twelve = versions.offer(state, await manifest(12), info)
      // Unless it waits its turn, seq 12 has started alongside (it loaded the site): it then goes through first.
      if (loads > 1) await twelve
      release()
      await eleven
      expect(await twelve).toEqual({ type: 'version', infoHash, seq: 12 })
      expect(versions.current?.seq).toBe(12)
      expect((JSON.parse(await versions.file('peersite.json')!.text()) as SiteManifest).pointer?.seq).toBe(12)
      const [cached] = await kept.get('https://example.test/site/peersite-version')!.json() as [SiteManifest]
      expect(cached.pointer?.seq).toBe(12)
    } finally {
      spy.mockRestore()
      g.caches = saved
    }
  })
})

/** The part of WorkerState that Versions uses: the loader folder's manifest and adopt (createSite, as the keyed build). */
function stateOf (base: SiteManifest): WorkerState {
  const state = { base, site: undefined as ReturnType<typeof createSite> | undefined, adopt: (m: SiteManifest) => (state.site = createSite(m)) }
  return state as unknown as WorkerState
}
