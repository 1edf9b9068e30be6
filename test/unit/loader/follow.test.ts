/**
 * The manifest the leader page builds for a keyed site's newer version (loader/follow.ts versionManifest), which the
 * worker then checks (worker/version.ts, test/unit/worker/version.test.ts).
 */
import { describe, expect, it } from 'vitest'
import type { Metainfo } from '../../../engine/metainfo/index.js'
import { versionManifest } from '../../../loader/follow.js'
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
})
