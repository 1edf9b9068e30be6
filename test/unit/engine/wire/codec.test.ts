import { describe, expect, it } from 'vitest'
import { MAX_FIXED_MESSAGE_LENGTH, maxMessageLength } from '../../../../engine/constants.js'
import { ProtocolError } from '../../../../engine/errors.js'
import { concatBytes, utf8 } from '../../../../engine/util/bytes.js'
import {
  WireDecoder,
  encodeCancels,
  encodeHandshake,
  encodeMessage,
  encodePieces,
  encodeRequests,
  setExtensionBit,
  supportsExtensions,
  type DecodedItem
} from '../../../../engine/wire/codec.js'
import type { Message } from '../../../../engine/wire/messages.js'
import { mulberry32 } from '../../../../engine/util/random.js'

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b)
const filled = (n: number, start = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i * 7) & 0xff)

/** Seeded so failures reproduce: floats in [0, 1). */
function prng (seed: number): () => number {
  const next = mulberry32(seed)
  return () => next() / 4294967296
}

const INFO_HASH = filled(20, 1)
const PEER_ID = utf8.encode('-PS0100-abcdefghijkl')

/** One of every message type. */
const ALL: Message[] = [
  { type: 'keep-alive' },
  { type: 'choke' },
  { type: 'unchoke' },
  { type: 'interested' },
  { type: 'not-interested' },
  { type: 'have', index: 5 },
  { type: 'have', index: 0xffffffff },
  { type: 'bitfield', bitfield: bytes(0b10110000, 0xff, 0x80) },
  { type: 'request', index: 1, begin: 16384, length: 16384 },
  { type: 'piece', index: 2, begin: 32768, block: filled(16384) },
  { type: 'piece', index: 3, begin: 0, block: new Uint8Array(0) },
  { type: 'cancel', index: 1, begin: 16384, length: 16384 },
  { type: 'port', port: 6881 },
  { type: 'extended', id: 0, payload: utf8.encode('d1:md11:ut_metadatai3eee') },
  { type: 'extended', id: 3, payload: new Uint8Array(0) },
  { type: 'unknown', id: 16, payload: filled(12) },
  { type: 'unknown', id: 255, payload: new Uint8Array(0) }
]

const newDecoder = (expectHandshake = false): WireDecoder =>
  new WireDecoder({ maxMessageLength: MAX_FIXED_MESSAGE_LENGTH, expectHandshake })

/** Deep-equality on plain objects with Uint8Array views (toEqual compares views by content). */
const messagesOf = (items: DecodedItem[]): Message[] => items.map(i => {
  if (i.kind !== 'message') throw new Error('expected a message')
  return i.message
})

describe('handshake', () => {
  it('is 68 bytes laid out as BEP 3 says', () => {
    const h = encodeHandshake({ infoHash: INFO_HASH, peerId: PEER_ID })
    expect(h.length).toBe(68)
    expect(h[0]).toBe(19)
    expect(utf8.decode(h.subarray(1, 20))).toBe('BitTorrent protocol')
    // Default reserved bytes: only the BEP 10 bit (reserved[5] & 0x10).
    expect([...h.subarray(20, 28)]).toEqual([0, 0, 0, 0, 0, 0x10, 0, 0])
    expect(h.subarray(28, 48)).toEqual(INFO_HASH)
    expect(h.subarray(48, 68)).toEqual(PEER_ID)
  })

  it('matches a hand-written byte array', () => {
    const reserved = bytes(1, 2, 3, 4, 5, 6, 7, 8)
    const expected = concatBytes([bytes(19), utf8.encode('BitTorrent protocol'), reserved, INFO_HASH, PEER_ID])
    expect(encodeHandshake({ infoHash: INFO_HASH, peerId: PEER_ID, reserved })).toEqual(expected)
  })

  it('round-trips, followed by messages in the same chunk', () => {
    const d = new WireDecoder({ maxMessageLength: MAX_FIXED_MESSAGE_LENGTH })
    const items = d.push(concatBytes([encodeHandshake({ infoHash: INFO_HASH, peerId: PEER_ID }), encodeMessage({ type: 'unchoke' })]))
    expect(items).toHaveLength(2)
    const first = items[0]!
    if (first.kind !== 'handshake') throw new Error('expected handshake')
    expect(first.handshake.infoHash).toEqual(INFO_HASH)
    expect(first.handshake.peerId).toEqual(PEER_ID)
    expect(supportsExtensions(first.handshake.reserved)).toBe(true)
    expect(items[1]).toEqual({ kind: 'message', message: { type: 'unchoke' } })
  })

  it('rejects a wrong pstrlen as soon as the first byte arrives', () => {
    const d = new WireDecoder({ maxMessageLength: MAX_FIXED_MESSAGE_LENGTH })
    expect(() => d.push(bytes(18))).toThrow(ProtocolError)
  })

  it('rejects a wrong protocol string before the whole handshake is in', () => {
    const d = new WireDecoder({ maxMessageLength: MAX_FIXED_MESSAGE_LENGTH })
    expect(d.push(concatBytes([bytes(19), utf8.encode('BitTorrent')]))).toEqual([])
    expect(() => d.push(utf8.encode(' Protocol'))).toThrow(ProtocolError)
  })

  it('rejects wrong field sizes on encode (API misuse)', () => {
    expect(() => encodeHandshake({ infoHash: new Uint8Array(19), peerId: PEER_ID })).toThrow(RangeError)
    expect(() => encodeHandshake({ infoHash: INFO_HASH, peerId: new Uint8Array(21) })).toThrow(RangeError)
    expect(() => encodeHandshake({ infoHash: INFO_HASH, peerId: PEER_ID, reserved: new Uint8Array(7) })).toThrow(RangeError)
  })
})

describe('extension bit helpers', () => {
  it('set and detect reserved[5] & 0x10', () => {
    const r = new Uint8Array(8)
    expect(supportsExtensions(r)).toBe(false)
    expect(setExtensionBit(r)).toBe(r)
    expect([...r]).toEqual([0, 0, 0, 0, 0, 0x10, 0, 0])
    expect(supportsExtensions(r)).toBe(true)
    const other = bytes(0, 0, 0, 0, 0, 0x01, 0, 4)
    setExtensionBit(other)
    expect([...other]).toEqual([0, 0, 0, 0, 0, 0x11, 0, 4])
  })
})

describe('exact bytes (BEP 3 / BEP 10 layouts)', () => {
  const cases: Array<[string, Message, number[]]> = [
    ['keep-alive', { type: 'keep-alive' }, [0, 0, 0, 0]],
    ['choke', { type: 'choke' }, [0, 0, 0, 1, 0]],
    ['unchoke', { type: 'unchoke' }, [0, 0, 0, 1, 1]],
    ['interested', { type: 'interested' }, [0, 0, 0, 1, 2]],
    ['not-interested', { type: 'not-interested' }, [0, 0, 0, 1, 3]],
    ['have 5', { type: 'have', index: 5 }, [0, 0, 0, 5, 4, 0, 0, 0, 5]],
    ['have 0x01020304', { type: 'have', index: 0x01020304 }, [0, 0, 0, 5, 4, 1, 2, 3, 4]],
    ['bitfield', { type: 'bitfield', bitfield: bytes(0xa0, 0x01) }, [0, 0, 0, 3, 5, 0xa0, 0x01]],
    ['request', { type: 'request', index: 1, begin: 0x4000, length: 0x4000 },
      [0, 0, 0, 13, 6, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0]],
    ['piece', { type: 'piece', index: 7, begin: 0x10, block: bytes(0xde, 0xad) },
      [0, 0, 0, 11, 7, 0, 0, 0, 7, 0, 0, 0, 0x10, 0xde, 0xad]],
    ['cancel', { type: 'cancel', index: 2, begin: 3, length: 4 },
      [0, 0, 0, 13, 8, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]],
    ['port 6881', { type: 'port', port: 6881 }, [0, 0, 0, 3, 9, 0x1a, 0xe1]],
    ['extended', { type: 'extended', id: 3, payload: bytes(0x64, 0x65) }, [0, 0, 0, 4, 20, 3, 0x64, 0x65]],
    ['unknown', { type: 'unknown', id: 16, payload: bytes(9) }, [0, 0, 0, 2, 16, 9]]
  ]
  for (const [name, message, expected] of cases) {
    it(`${name} encodes to ${expected.map(b => b.toString(16).padStart(2, '0')).join(' ')}`, () => {
      expect([...encodeMessage(message)]).toEqual(expected)
    })
    it(`${name} decodes from its bytes`, () => {
      expect(messagesOf(newDecoder().push(new Uint8Array(expected)))).toEqual([message])
    })
  }

  it('throws RangeError on out-of-range fields (API misuse)', () => {
    expect(() => encodeMessage({ type: 'have', index: -1 })).toThrow(RangeError)
    expect(() => encodeMessage({ type: 'have', index: 2 ** 32 })).toThrow(RangeError)
    expect(() => encodeMessage({ type: 'request', index: 0, begin: 1.5, length: 1 })).toThrow(RangeError)
    expect(() => encodeMessage({ type: 'port', port: 65536 })).toThrow(RangeError)
    expect(() => encodeMessage({ type: 'extended', id: 256, payload: new Uint8Array(0) })).toThrow(RangeError)
  })

  it('copies a piece block exactly once into a 13 + block byte frame', () => {
    const block = filled(16384)
    const out = encodeMessage({ type: 'piece', index: 0, begin: 0, block })
    expect(out.length).toBe(13 + 16384)
    expect(out.buffer.byteLength).toBe(13 + 16384)
    expect(out.subarray(13)).toEqual(block)
  })
})

describe('round trips', () => {
  it('every message type survives encode -> decode', () => {
    for (const m of ALL) expect(messagesOf(newDecoder().push(encodeMessage(m)))).toEqual([m])
  })

  it('merged chunks: all messages in one push', () => {
    const d = newDecoder()
    expect(messagesOf(d.push(concatBytes(ALL.map(encodeMessage))))).toEqual(ALL)
    expect(d.buffered).toBe(0)
  })
})

describe('chunking', () => {
  const stream = concatBytes([
    encodeHandshake({ infoHash: INFO_HASH, peerId: PEER_ID }),
    ...ALL.map(encodeMessage),
    ...ALL.map(encodeMessage)
  ])
  const reference = new WireDecoder({ maxMessageLength: MAX_FIXED_MESSAGE_LENGTH }).push(stream)

  it('the reference decode has the handshake and every message twice', () => {
    expect(reference).toHaveLength(1 + 2 * ALL.length)
    expect(reference[0]!.kind).toBe('handshake')
  })

  it('one byte at a time gives the same items', () => {
    const d = new WireDecoder({ maxMessageLength: MAX_FIXED_MESSAGE_LENGTH })
    const items: DecodedItem[] = []
    for (let i = 0; i < stream.length; i++) items.push(...d.push(stream.subarray(i, i + 1)))
    expect(items).toEqual(reference)
    expect(d.buffered).toBe(0)
  })

  it('random splits give the same items', () => {
    const rand = prng(42)
    for (let round = 0; round < 25; round++) {
      const d = new WireDecoder({ maxMessageLength: MAX_FIXED_MESSAGE_LENGTH })
      const items: DecodedItem[] = []
      let at = 0
      while (at < stream.length) {
        // Mix tiny, medium and block-sized chunks; zero-length chunks too.
        const r = rand()
        const n = r < 0.3 ? Math.floor(rand() * 4) : r < 0.8 ? Math.floor(rand() * 200) : Math.floor(rand() * 20000)
        items.push(...d.push(stream.subarray(at, at + n)))
        at += n
      }
      expect(items).toEqual(reference)
    }
  })

  it('truncated input yields nothing until the message is complete', () => {
    const d = newDecoder()
    const piece = encodeMessage({ type: 'piece', index: 1, begin: 0, block: filled(1000) })
    expect(d.push(piece.subarray(0, 2))).toEqual([])
    expect(d.push(piece.subarray(2, 4))).toEqual([])
    expect(d.push(piece.subarray(4, 500))).toEqual([])
    expect(d.buffered).toBe(496)
    expect(d.push(piece.subarray(500, piece.length - 1))).toEqual([])
    const items = messagesOf(d.push(piece.subarray(piece.length - 1)))
    expect(items).toEqual([{ type: 'piece', index: 1, begin: 0, block: filled(1000) }])
  })

  it('a message inside one chunk is returned without copying', () => {
    const chunk = encodeMessage({ type: 'piece', index: 0, begin: 0, block: filled(100) })
    const [m] = messagesOf(newDecoder().push(chunk))
    if (m?.type !== 'piece') throw new Error('expected piece')
    expect(m.block.buffer).toBe(chunk.buffer)
  })
})

describe('limits and malformed messages', () => {
  it('throws on an oversized length prefix before the body arrives', () => {
    const d = newDecoder()
    expect(() => d.push(bytes(0x80, 0, 0, 0))).toThrow(ProtocolError) // 2^31
  })

  it('throws as soon as the fourth length byte arrives, even split', () => {
    const d = newDecoder()
    expect(d.push(bytes(0x80, 0))).toEqual([])
    expect(d.push(bytes(0))).toEqual([])
    expect(() => d.push(bytes(0))).toThrow(/exceeds/)
  })

  it('accepts exactly the limit and refuses one more', () => {
    const ok = new WireDecoder({ maxMessageLength: 10, expectHandshake: false })
    expect(messagesOf(ok.push(encodeMessage({ type: 'bitfield', bitfield: new Uint8Array(9) })))).toHaveLength(1)
    const bad = new WireDecoder({ maxMessageLength: 10, expectHandshake: false })
    expect(() => bad.push(encodeMessage({ type: 'bitfield', bitfield: new Uint8Array(10) }))).toThrow(ProtocolError)
  })

  it('the limit can be raised once the piece count is known', () => {
    const pieceCount = 200_000 // bitfield of 25,000 bytes > MAX_FIXED_MESSAGE_LENGTH
    const bitfield = new Uint8Array(pieceCount / 8).fill(0xff)
    const msg = encodeMessage({ type: 'bitfield', bitfield })
    expect(() => newDecoder().push(msg)).toThrow(ProtocolError)
    const d = newDecoder()
    d.maxMessageLength = maxMessageLength(pieceCount)
    expect(d.maxMessageLength).toBe(1 + pieceCount / 8)
    expect(messagesOf(d.push(msg))).toEqual([{ type: 'bitfield', bitfield }])
    expect(() => { d.maxMessageLength = 0 }).toThrow(RangeError)
  })

  const wrongSizes: Array<[string, number[]]> = [
    ['choke with a payload', [0, 0, 0, 2, 0, 0]],
    ['unchoke with a payload', [0, 0, 0, 2, 1, 0]],
    ['interested with a payload', [0, 0, 0, 2, 2, 0]],
    ['not-interested with a payload', [0, 0, 0, 2, 3, 0]],
    ['have of 3 bytes', [0, 0, 0, 4, 4, 0, 0, 5]],
    ['have of 5 bytes', [0, 0, 0, 6, 4, 0, 0, 0, 5, 0]],
    ['request of 11 bytes', [0, 0, 0, 12, 6, ...new Array<number>(11).fill(0)]],
    ['request of 13 bytes', [0, 0, 0, 14, 6, ...new Array<number>(13).fill(0)]],
    ['cancel of 8 bytes', [0, 0, 0, 9, 8, ...new Array<number>(8).fill(0)]],
    ['piece shorter than 8', [0, 0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0]],
    ['port of 3 bytes', [0, 0, 0, 4, 9, 0, 0, 1]],
    ['extended with an empty payload', [0, 0, 0, 1, 20]]
  ]
  for (const [name, raw] of wrongSizes) {
    it(`throws ProtocolError for ${name}`, () => {
      expect(() => newDecoder().push(new Uint8Array(raw))).toThrow(ProtocolError)
    })
  }

  it('passes unknown ids through as unknown', () => {
    const items = messagesOf(newDecoder().push(bytes(0, 0, 0, 3, 13, 0xaa, 0xbb, 0, 0, 0, 1, 21)))
    expect(items).toEqual([
      { type: 'unknown', id: 13, payload: bytes(0xaa, 0xbb) },
      { type: 'unknown', id: 21, payload: new Uint8Array(0) }
    ])
  })

  it('stays failed after an error', () => {
    const d = newDecoder()
    expect(() => d.push(bytes(0, 0, 0, 2, 0, 0))).toThrow(ProtocolError)
    expect(d.error).toBeInstanceOf(ProtocolError)
    expect(() => d.push(encodeMessage({ type: 'choke' }))).toThrow(ProtocolError)
    expect(() => d.push(new Uint8Array(0))).toThrow(ProtocolError)
  })

  it('keep-alives between messages are items of their own', () => {
    const items = messagesOf(newDecoder().push(bytes(0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0)))
    expect(items).toEqual([{ type: 'keep-alive' }, { type: 'unchoke' }, { type: 'keep-alive' }])
  })
})

describe('fuzz', () => {
  it('random bytes only ever produce items or ProtocolError', () => {
    const rand = prng(0xc0ffee)
    const valid = ALL.map(encodeMessage)
    let errors = 0
    let items = 0
    for (let round = 0; round < 3000; round++) {
      const d = new WireDecoder({ maxMessageLength: 1 + Math.floor(rand() * 300), expectHandshake: rand() < 0.2 })
      // Half pure noise, half valid messages with a few bytes flipped (reaches deeper code paths).
      let input: Uint8Array
      if (rand() < 0.5) {
        input = Uint8Array.from({ length: Math.floor(rand() * 120) }, () => Math.floor(rand() * 256))
        // Small length prefixes make noise parse as messages more often.
        if (input.length > 4 && rand() < 0.7) { input[0] = 0; input[1] = 0; input[2] = 0; input[3] = Math.floor(rand() * 20) }
      } else {
        input = concatBytes(Array.from({ length: 1 + Math.floor(rand() * 4) }, () => valid[Math.floor(rand() * valid.length)]!)).slice()
        for (let k = 0; k < 3; k++) if (input.length > 0) input[Math.floor(rand() * input.length)] = Math.floor(rand() * 256)
      }
      try {
        let at = 0
        while (at < input.length) {
          const n = 1 + Math.floor(rand() * 16)
          const out = d.push(input.subarray(at, at + n))
          items += out.length
          for (const item of out) expect(['handshake', 'message']).toContain(item.kind)
          at += n
        }
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err
        errors++
      }
    }
    // Both outcomes must actually occur, or the fuzz loop tests nothing.
    expect(errors).toBeGreaterThan(100)
    expect(items).toBeGreaterThan(100)
  })
})

describe('batched encoders', () => {
  it('encodePieces gives the bytes of the piece messages concatenated', () => {
    const blocks = [
      { index: 0, begin: 0, block: new Uint8Array(16384).fill(1) },
      { index: 0, begin: 16384, block: new Uint8Array(16384).fill(2) },
      { index: 0xfffffffe, begin: 7, block: new Uint8Array(3).fill(3) },
      { index: 5, begin: 0, block: new Uint8Array(0) }
    ]
    expect(encodePieces(blocks)).toEqual(concatBytes(blocks.map(({ index, begin, block }) => encodeMessage({ type: 'piece', index, begin, block }))))
    expect(encodePieces([])).toEqual(new Uint8Array(0))
    expect(() => encodePieces([{ index: -1, begin: 0, block: new Uint8Array(1) }])).toThrow(RangeError)
  })

  for (const [type, encode] of [['request', encodeRequests], ['cancel', encodeCancels]] as const) {
    it(`encode${type === 'request' ? 'Requests' : 'Cancels'} gives the bytes of the ${type} messages concatenated, and decodes back`, () => {
      const refs = [{ index: 0, begin: 0, length: 16384 }, { index: 3, begin: 16384, length: 100 }, { index: 0xffffffff, begin: 0, length: 1 }]
      const bytes = encode(refs)
      expect(bytes).toEqual(concatBytes(refs.map((r) => encodeMessage({ type, ...r }))))
      const decoded = new WireDecoder({ maxMessageLength: MAX_FIXED_MESSAGE_LENGTH, expectHandshake: false }).push(bytes)
      expect(decoded.map((d) => d.kind === 'message' ? d.message : undefined)).toEqual(refs.map((r) => ({ type, ...r })))
      expect(() => encode([{ index: 1.5, begin: 0, length: 1 }])).toThrow(RangeError)
    })
  }
})
