/**
 * The manifest the leader page builds for a keyed site's newer version (loader/follow.ts versionManifest), which the
 * worker then checks (worker/version.ts, test/unit/worker/version.test.ts); and what the page remembers of the site
 * key in IndexedDB (saveKnown, loadKnown), on fake-indexeddb.
 */
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Metainfo } from '../../../engine/metainfo/index.js'
import { generateEd25519, nodeSigner } from '../../../engine/pointer/node.js'
import { PointerBook, pointerId, signPointer, webCryptoVerifier, type VerifiedPointer } from '../../../engine/pointer/index.js'
import { loadKnown, saveKnown, versionManifest } from '../../../loader/follow.js'
import type { PointerRecordJson, SiteManifest } from '../../../worker/protocol.js'

describe('versionManifest', () => {
  it('keeps version 1\'s name, trackers and rules, leaves out its page hints and sectioned index, and lists the new files', () => {
    const base: SiteManifest = {
      version: 1, infoHash: 'a'.repeat(40), name: 'site', trackers: ['wss://t.example'], pieceLength: 16384, length: 1, files: [],
      spa: true, index: { version: 1, sections: ['0'.repeat(32)], files: 1 }, preload: { groups: [], pages: [] }
    }
    const meta = { infoHash: 'b'.repeat(40), pieceLength: 16384, length: 12, files: [{ path: 'index.html', length: 12 }] } as unknown as Metainfo
    const pointer = { k: 'c'.repeat(64), seq: 11, v: '', sig: '' } as unknown as PointerRecordJson
    const next = versionManifest(base, meta, pointer)
    expect(next.index).toBeUndefined()
    expect(next.preload).toBeUndefined()
    expect(next).toMatchObject({ name: 'site', trackers: ['wss://t.example'], spa: true, infoHash: 'b'.repeat(40), length: 12, pointer })
    expect(next.files).toEqual([{ path: 'index.html', length: 12, type: 'text/html' }])
  })

  it('gives a file whose extension is a name Object.prototype has (x.constructor, __proto__) a string type the worker takes', () => {
    const base: SiteManifest = { version: 1, infoHash: 'a'.repeat(40), name: 'site', trackers: [], pieceLength: 16384, length: 1, files: [] }
    const paths = ['a.constructor', 'b.__proto__', 'constructor', '__proto__', 'c.CONSTRUCTOR', 'd.hasOwnProperty', 'e.css']
    const meta = { infoHash: 'b'.repeat(40), pieceLength: 16384, length: 7, files: paths.map((path) => ({ path, length: 1 })) } as unknown as Metainfo
    const next = versionManifest(base, meta, { k: 'c'.repeat(64), seq: 2, v: '', sig: '' } as unknown as PointerRecordJson)
    // Each type a string (a function could not be posted to the worker, and its parseManifest refuses anything else).
    expect(next.files.map((f) => f.type)).toEqual([...paths.slice(0, -1).map(() => 'application/octet-stream'), 'text/css'])
  })
})

describe('saveKnown', () => {
  afterEach(() => { vi.unstubAllGlobals() })
  const site = generateEd25519()
  const id = pointerId(site.publicKey)
  const salt = new Uint8Array(0)
  const verified = async (seq: number): Promise<VerifiedPointer> => {
    const decision = await new PointerBook({ verifier: webCryptoVerifier() }, { publicKey: site.publicKey })
      .offer(await signPointer(nodeSigner(site.seed), { infoHash: seq.toString(16).padStart(2, '0').repeat(20), seq }))
    if (decision.kind !== 'newer') throw new Error('not taken')
    return decision.record
  }

  it('a save that commits after a newer one (saves are not awaited) does not take the remembered seq back', async () => {
    vi.stubGlobal('indexedDB', new IDBFactory())
    const r10 = await verified(10)
    await saveKnown(id, { seq: 10, record: r10 })
    await saveKnown(id, { seq: 9, record: await verified(9) })
    const known = await loadKnown(id, site.publicKey, salt)
    expect(known?.seq).toBe(10)
    expect(known?.record?.infoHash).toBe(r10.infoHash)
    await saveKnown(id, { seq: 11 })
    expect(await loadKnown(id, site.publicKey, salt)).toEqual({ seq: 11 })
  })

  it('at the same seq, a fork or a record is kept, and a later save that knows less does not drop it', async () => {
    vi.stubGlobal('indexedDB', new IDBFactory())
    const r10 = await verified(10)
    await saveKnown(id, { seq: 10 })
    await saveKnown(id, { seq: 10, record: r10 })
    await saveKnown(id, { seq: 10 })
    expect((await loadKnown(id, site.publicKey, salt))?.record?.infoHash).toBe(r10.infoHash)
    await saveKnown(id, { seq: 10, forked: true })
    await saveKnown(id, { seq: 10, record: r10 })
    expect(await loadKnown(id, site.publicKey, salt)).toEqual({ seq: 10, forked: true })
  })
})
