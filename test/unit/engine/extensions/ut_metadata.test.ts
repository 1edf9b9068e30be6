import { beforeAll, describe, expect, it } from 'vitest'
import { MAX_METADATA_SIZE, METADATA_PIECE_LENGTH } from '../../../../engine/constants.js'
import { ProtocolError } from '../../../../engine/errors.js'
import {
  MetadataAssembler,
  decodeMetadataMessage,
  encodeMetadataData,
  encodeMetadataReject,
  encodeMetadataRequest,
  metadataPiece,
  metadataPieceCount
} from '../../../../engine/extensions/ut_metadata.js'
import { bdecode, bencode } from '../../../../engine/util/bencode.js'
import { concatBytes, sha1, utf8 } from '../../../../engine/util/bytes.js'

const text = (s: string): Uint8Array => utf8.encode(s)

/** A real info dictionary: 1,000 piece hashes make it ~20 KB, i.e. two metadata pieces, the last one partial. */
function makeInfo (): Uint8Array {
  const pieces = Uint8Array.from({ length: 20 * 1000 }, (_, i) => (i * 31 + 7) & 0xff)
  return bencode({ name: text('site'), 'piece length': 16384, length: 16384 * 1000, pieces })
}

describe('messages', () => {
  it('encode the BEP 9 examples byte for byte', () => {
    expect(utf8.decode(encodeMetadataRequest(0))).toBe('d8:msg_typei0e5:piecei0ee')
    expect(utf8.decode(encodeMetadataReject(0))).toBe('d8:msg_typei2e5:piecei0ee')
    expect(utf8.decode(encodeMetadataData(0, 34256, text('xxxxxxxx')))).toBe('d8:msg_typei1e5:piecei0e10:total_sizei34256eexxxxxxxx')
  })

  it('round-trip request, reject and data', () => {
    expect(decodeMetadataMessage(encodeMetadataRequest(7))).toEqual({ msgType: 'request', piece: 7 })
    expect(decodeMetadataMessage(encodeMetadataReject(3))).toEqual({ msgType: 'reject', piece: 3 })
    const bytes = Uint8Array.from({ length: METADATA_PIECE_LENGTH }, (_, i) => i & 0xff)
    expect(decodeMetadataMessage(encodeMetadataData(1, 40000, bytes))).toEqual({ msgType: 'data', piece: 1, totalSize: 40000, data: bytes })
  })

  it('data whose appended bytes look like bencoding stay raw', () => {
    const data = text('d1:ai1ee')
    expect(decodeMetadataMessage(encodeMetadataData(0, 8, data)).data).toEqual(data)
  })

  it('an unrecognized msg_type is reported as unknown, not an error (BEP 9: "MUST be ignored")', () => {
    expect(decodeMetadataMessage(text('d8:msg_typei7e5:piecei0ee'))).toEqual({ msgType: 'unknown', piece: 0 })
  })

  it('ignores unknown keys', () => {
    expect(decodeMetadataMessage(text('d3:fooi1e8:msg_typei0e5:piecei2ee'))).toEqual({ msgType: 'request', piece: 2 })
  })

  const garbage: Array<[string, string]> = [
    ['an empty payload', ''],
    ['not bencoding', 'hello'],
    ['a list', 'li0ei0ee'],
    ['a missing msg_type', 'd5:piecei0ee'],
    ['a string msg_type', 'd8:msg_type1:05:piecei0ee'],
    ['a missing piece', 'd8:msg_typei0ee'],
    ['a negative piece', 'd8:msg_typei0e5:piecei-1ee'],
    ['data without total_size', 'd8:msg_typei1e5:piecei0eexxxx'],
    ['data with total_size 0', 'd8:msg_typei1e5:piecei0e10:total_sizei0eexx'],
    ['a request with trailing bytes', 'd8:msg_typei0e5:piecei0eejunk'],
    ['a truncated dictionary', 'd8:msg_typei0e5:piecei0e'],
    ['a string running past the end', 'd8:msg_typei1e5:piece99:x']
  ]
  for (const [name, payload] of garbage) {
    it(`throws ProtocolError for ${name}`, () => {
      expect(() => decodeMetadataMessage(text(payload))).toThrow(ProtocolError)
    })
  }

  it('random payloads only produce messages or ProtocolError', () => {
    let seed = 1234
    const rand = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32 }
    const alphabet = text('dile0123456789:-_msgtypiecotalsz')
    for (let round = 0; round < 2000; round++) {
      const payload = Uint8Array.from({ length: Math.floor(rand() * 40) }, () => alphabet[Math.floor(rand() * alphabet.length)]!)
      try {
        decodeMetadataMessage(payload)
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err
      }
    }
  })

  it('refuses to encode bad arguments (API misuse)', () => {
    expect(() => encodeMetadataRequest(-1)).toThrow(RangeError)
    expect(() => encodeMetadataData(0, 0, new Uint8Array(1))).toThrow(RangeError)
    expect(() => encodeMetadataData(0, 20000, new Uint8Array(METADATA_PIECE_LENGTH + 1))).toThrow(RangeError)
  })
})

describe('metadataPiece', () => {
  it('serves 16 KiB pieces and a short last one', () => {
    const info = makeInfo()
    expect(metadataPieceCount(info.length)).toBe(2)
    expect(metadataPiece(info, 0)).toEqual(info.subarray(0, METADATA_PIECE_LENGTH))
    expect(metadataPiece(info, 1)).toEqual(info.subarray(METADATA_PIECE_LENGTH))
    expect(metadataPiece(info, 2)).toBeUndefined()
    expect(metadataPiece(info, -1)).toBeUndefined()
    expect(metadataPiece(info, 0.5)).toBeUndefined()
  })

  it('an exact multiple of 16 KiB has no empty trailing piece', () => {
    const info = new Uint8Array(2 * METADATA_PIECE_LENGTH)
    expect(metadataPieceCount(info.length)).toBe(2)
    expect(metadataPiece(info, 1)?.length).toBe(METADATA_PIECE_LENGTH)
    expect(metadataPiece(info, 2)).toBeUndefined()
  })
})

describe('MetadataAssembler', () => {
  let info: Uint8Array
  let infoHash: Uint8Array
  beforeAll(async () => {
    info = makeInfo()
    infoHash = await sha1(info)
  })

  it('assembles a real info dictionary fetched over the wire messages', async () => {
    const a = new MetadataAssembler({ infoHash, size: info.length })
    expect(a.pieceCount).toBe(2)
    // Two "peers" asked in parallel: the requested marks keep them on different pieces.
    const first = a.nextMissing()
    expect(first).toBe(0)
    a.markRequested(first!)
    const second = a.nextMissing()
    expect(second).toBe(1)
    a.markRequested(second!)
    expect(a.nextMissing()).toBeUndefined()

    // Answered in reverse order, through encode/decode, as a seeder would.
    for (const piece of [1, 0]) {
      const reply = decodeMetadataMessage(encodeMetadataData(piece, info.length, metadataPiece(info, piece)!))
      expect(reply.msgType).toBe('data')
      expect(reply.totalSize).toBe(info.length)
      expect(a.add(reply.piece, reply.data!)).toBe(true)
    }
    expect(a.complete).toBe(true)
    const result = await a.verify()
    expect(result).toEqual(info)
    expect(bdecode(result!)).toMatchObject({ name: text('site'), 'piece length': 16384 })
  })

  it('releasing a request makes the piece available again', () => {
    const a = new MetadataAssembler({ infoHash, size: info.length })
    a.markRequested(0)
    expect(a.nextMissing()).toBe(1)
    a.releaseRequested(0)
    expect(a.nextMissing()).toBe(0)
  })

  it('duplicates return false and keep the first copy', async () => {
    const a = new MetadataAssembler({ infoHash, size: info.length })
    expect(a.add(0, metadataPiece(info, 0)!)).toBe(true)
    expect(a.add(0, new Uint8Array(METADATA_PIECE_LENGTH))).toBe(false)
    expect(a.received).toBe(1)
    expect(a.add(1, metadataPiece(info, 1)!)).toBe(true)
    expect(await a.verify()).toEqual(info)
  })

  it('keeps its own copy of each piece', async () => {
    const a = new MetadataAssembler({ infoHash, size: info.length })
    const p0 = metadataPiece(info, 0)!.slice()
    a.add(0, p0)
    p0.fill(0) // the wire chunk being reused must not corrupt the assembler
    a.add(1, metadataPiece(info, 1)!)
    expect(await a.verify()).toEqual(info)
  })

  it('a corrupted piece fails verification and resets everything', async () => {
    const a = new MetadataAssembler({ infoHash, size: info.length })
    const bad = metadataPiece(info, 1)!.slice()
    bad[0] = bad[0]! ^ 0xff
    a.add(0, metadataPiece(info, 0)!)
    a.markRequested(1)
    a.add(1, bad)
    expect(await a.verify()).toBeUndefined()
    expect(a.received).toBe(0)
    expect(a.complete).toBe(false)
    expect(a.has(0)).toBe(false)
    expect(a.nextMissing()).toBe(0)
    // And it can be completed again from honest peers.
    a.add(0, metadataPiece(info, 0)!)
    a.add(1, metadataPiece(info, 1)!)
    expect(await a.verify()).toEqual(info)
  })

  it('verify before completion is API misuse', async () => {
    const a = new MetadataAssembler({ infoHash, size: info.length })
    await expect(a.verify()).rejects.toThrow(/incomplete/)
  })

  it('rejects pieces of the wrong size or out of range', () => {
    const a = new MetadataAssembler({ infoHash, size: info.length })
    const lastLength = info.length - METADATA_PIECE_LENGTH
    expect(() => a.add(0, new Uint8Array(METADATA_PIECE_LENGTH - 1))).toThrow(ProtocolError)
    expect(() => a.add(0, new Uint8Array(METADATA_PIECE_LENGTH + 1))).toThrow(ProtocolError)
    expect(() => a.add(1, new Uint8Array(lastLength + 1))).toThrow(ProtocolError)
    expect(() => a.add(1, new Uint8Array(METADATA_PIECE_LENGTH))).toThrow(ProtocolError)
    expect(() => a.add(2, new Uint8Array(1))).toThrow(ProtocolError)
    expect(() => a.add(-1, new Uint8Array(1))).toThrow(ProtocolError)
    expect(() => a.markRequested(5)).toThrow(ProtocolError)
    expect(a.received).toBe(0)
  })

  it('a single-piece metadata of exactly 16 KiB', async () => {
    const small = new Uint8Array(METADATA_PIECE_LENGTH).fill(0x61)
    const a = new MetadataAssembler({ infoHash: await sha1(small), size: small.length })
    expect(a.pieceCount).toBe(1)
    expect(a.add(0, small)).toBe(true)
    expect(await a.verify()).toEqual(small)
  })

  it('rejects bad sizes', () => {
    for (const size of [0, -1, 1.5, Number.NaN, MAX_METADATA_SIZE + 1, 2 ** 53]) {
      expect(() => new MetadataAssembler({ infoHash, size })).toThrow(ProtocolError)
    }
    expect(new MetadataAssembler({ infoHash, size: MAX_METADATA_SIZE }).pieceCount).toBe(MAX_METADATA_SIZE / METADATA_PIECE_LENGTH)
    expect(() => new MetadataAssembler({ infoHash: new Uint8Array(19), size: 10 })).toThrow(RangeError)
  })

  it('concatenated pieces equal the original (sanity of the fixture)', () => {
    expect(concatBytes([metadataPiece(info, 0)!, metadataPiece(info, 1)!])).toEqual(info)
  })
})
