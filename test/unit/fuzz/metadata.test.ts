/** Property tests: ut_metadata messages and assembly (BEP 9), and the info dictionary parser, against hostile input. */
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidTorrentError, ProtocolError } from '../../../engine/errors.js'
import {
  decodeMetadataMessage, encodeMetadataData, encodeMetadataReject, encodeMetadataRequest, MetadataAssembler, metadataPiece, metadataPieceCount
} from '../../../engine/extensions/ut_metadata.js'
import { parseInfoDictionary } from '../../../engine/metainfo/index.js'
import { bencode } from '../../../engine/util/bencode.js'
import { bvalue } from './arbitraries.js'
import { FUZZ_TIMEOUT_MS, fuzzParams } from './runs.js'

const PIECE = 16384

describe('ut_metadata (property tests)', () => {
  it('messages decode to what was encoded', () => {
    const piece = fc.integer({ min: 0, max: 2 ** 31 })
    fc.assert(fc.property(piece, fc.integer({ min: 1, max: 2 ** 40 }), fc.uint8Array({ maxLength: PIECE }), (p, total, data) => {
      expect(decodeMetadataMessage(encodeMetadataRequest(p))).toEqual({ msgType: 'request', piece: p })
      expect(decodeMetadataMessage(encodeMetadataReject(p))).toEqual({ msgType: 'reject', piece: p })
      const back = decodeMetadataMessage(encodeMetadataData(p, total, data))
      expect([back.msgType, back.piece, back.totalSize]).toEqual(['data', p, total])
      expect(Buffer.from(back.data!).equals(Buffer.from(data))).toBe(true)
    }), fuzzParams(100))
  }, FUZZ_TIMEOUT_MS)

  it('any payload is a message or a ProtocolError', () => {
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 60 }),
      fc.tuple(fc.dictionary(fc.constantFrom('msg_type', 'piece', 'total_size', 'x'), bvalue), fc.uint8Array({ maxLength: 20 }))
        .map(([d, tail]) => new Uint8Array([...bencode(d), ...tail]))
    )
    fc.assert(fc.property(payload, (p) => {
      try {
        const m = decodeMetadataMessage(p)
        expect(Number.isSafeInteger(m.piece) && m.piece >= 0).toBe(true)
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError)
      }
    }), fuzzParams(300))
  }, FUZZ_TIMEOUT_MS)

  it('assembles the metadata from pieces in any order, with duplicates, and checks it against the infohash', async () => {
    const info = fc.uint8Array({ minLength: 1, maxLength: 4 * PIECE + 100 })
    await fc.assert(fc.asyncProperty(info, fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), async (bytes, order, lie) => {
      const infoHash = new Uint8Array(createHash('sha1').update(bytes).digest())
      const a = new MetadataAssembler({ infoHash, size: bytes.length })
      expect(a.pieceCount).toBe(metadataPieceCount(bytes.length))
      const indices = [...order.map((o) => o % a.pieceCount), ...Array.from({ length: a.pieceCount }, (_, i) => i)]
      for (const i of indices) {
        const piece = metadataPiece(bytes, i)!.slice()
        if (lie && i === 0) piece[0] = piece[0]! ^ 1
        a.add(i, piece)
      }
      expect(a.complete).toBe(true)
      const out = await a.verify()
      if (lie) {
        expect(out).toBeUndefined()
        expect(a.received).toBe(0)
      } else {
        expect(Buffer.from(out!).equals(Buffer.from(bytes))).toBe(true)
      }
    }), fuzzParams(100))
  }, FUZZ_TIMEOUT_MS)

  it('refuses pieces of the wrong length or index, and sizes a peer should not announce', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 * PIECE }), fc.integer({ min: -2, max: 8 }), fc.nat({ max: PIECE + 10 }), (size, index, length) => {
      const a = new MetadataAssembler({ infoHash: new Uint8Array(20), size })
      const expected = index === a.pieceCount - 1 ? size - index * PIECE : PIECE
      const ok = index >= 0 && index < a.pieceCount && length === expected
      if (ok) expect(a.add(index, new Uint8Array(length))).toBe(true)
      else expect(() => a.add(index, new Uint8Array(length))).toThrow(ProtocolError)
    }), fuzzParams(500))
    for (const size of [0, -1, 1.5, 2 ** 60, Number.NaN, 16 * 1024 * 1024 + 1]) {
      expect(() => new MetadataAssembler({ infoHash: new Uint8Array(20), size })).toThrow(ProtocolError)
    }
  })
})

/** Info dictionaries close enough to real ones to get past the first checks, with hostile values mixed in. */
const component = fc.oneof(fc.constantFrom('', '.', '..', 'a/b', 'a\\b', 'a\0', 'index.html', 'docs', 'a', 'b'), fc.string({ maxLength: 6 }))
const infoDict = fc.record({
  name: fc.oneof(component, bvalue),
  'piece length': fc.oneof(fc.constantFrom(0, -1, 1, 16384, 2 ** 26, 2 ** 26 + 1, 2 ** 53), fc.integer({ min: -10, max: 2 ** 27 }), bvalue),
  files: fc.oneof(
    fc.array(fc.record({
      length: fc.oneof(fc.integer({ min: -2, max: 40_000 }), bvalue),
      path: fc.oneof(fc.array(component, { maxLength: 4 }), bvalue)
    }, { requiredKeys: [] }), { maxLength: 5 }),
    bvalue
  ),
  length: fc.oneof(fc.integer({ min: -1, max: 100_000 }), bvalue),
  pieces: fc.oneof(fc.nat({ max: 8 }).map((n) => new Uint8Array(20 * n)), fc.uint8Array({ maxLength: 100 }), bvalue)
}, { requiredKeys: [] })

describe('parseInfoDictionary (property tests)', () => {
  it('gives a consistent, safe metainfo or an InvalidTorrentError, for anything', async () => {
    const input = fc.oneof(infoDict.map((d) => bencode(d)), bvalue.map((v) => bencode(v)), fc.uint8Array({ maxLength: 80 }))
    await fc.assert(fc.asyncProperty(input, async (bytes) => {
      let m
      try {
        m = await parseInfoDictionary(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidTorrentError)
        return
      }
      expect(m.infoHash).toBe(createHash('sha1').update(bytes).digest('hex'))
      expect(m.pieceLength).toBeGreaterThan(0)
      expect(m.pieceHashes.length).toBe(20 * m.pieceCount)
      expect(m.pieceCount).toBe(Math.ceil(m.length / m.pieceLength))
      const paths = new Set<string>()
      let offset = 0
      for (const f of m.files) {
        expect(f.offset).toBe(offset)
        offset += f.length
        expect(f.path.split('/').every((c) => c !== '' && c !== '.' && c !== '..' && !c.includes('\\') && !c.includes('\0'))).toBe(true)
        expect(paths.has(f.path)).toBe(false)
        paths.add(f.path)
      }
      expect(offset).toBe(m.length)
      for (const p of paths) {
        const parts = p.split('/')
        for (let i = 1; i < parts.length; i++) expect(paths.has(parts.slice(0, i).join('/'))).toBe(false)
      }
    }), fuzzParams(300))
  }, FUZZ_TIMEOUT_MS)
})
