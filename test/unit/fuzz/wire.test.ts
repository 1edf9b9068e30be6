/** Property tests: the wire codec and the extended handshake (engine/wire/) against arbitrary messages and bytes. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../../../engine/errors.js'
import { encodeHandshake, encodeMessage, WireDecoder, type DecodedItem } from '../../../engine/wire/codec.js'
import { decodeExtendedHandshake, encodeExtendedHandshake } from '../../../engine/wire/extended.js'
import type { Message } from '../../../engine/wire/messages.js'
import { bencode } from '../../../engine/util/bencode.js'
import { bvalue } from './arbitraries.js'
import { FUZZ_TIMEOUT_MS, fuzzParams } from './runs.js'

const u32 = fc.integer({ min: 0, max: 0xffffffff })
const bytes = (maxLength: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength })

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.constantFrom<Message>({ type: 'keep-alive' }, { type: 'choke' }, { type: 'unchoke' }, { type: 'interested' }, { type: 'not-interested' }),
  u32.map((index): Message => ({ type: 'have', index })),
  bytes(40).map((bitfield): Message => ({ type: 'bitfield', bitfield })),
  fc.tuple(fc.constantFrom('request' as const, 'cancel' as const), u32, u32, u32).map(([type, index, begin, length]): Message => ({ type, index, begin, length })),
  fc.tuple(u32, u32, bytes(100)).map(([index, begin, block]): Message => ({ type: 'piece', index, begin, block })),
  fc.integer({ min: 0, max: 0xffff }).map((port): Message => ({ type: 'port', port })),
  fc.tuple(fc.integer({ min: 0, max: 255 }), bytes(60)).map(([id, payload]): Message => ({ type: 'extended', id, payload }))
)

/** Splits `data` at the given cut points (a data channel may deliver any chunking). */
function chunks (data: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let prev = 0
  for (const c of [...at, data.length]) {
    out.push(data.slice(prev, c))
    prev = c
  }
  return out
}

const plain = (m: Message): unknown => JSON.parse(JSON.stringify(m, (_k, v: unknown) => v instanceof Uint8Array ? [...v] : v))

describe('wire codec (property tests)', () => {
  it('a handshake and any messages, cut into any chunks, decode to what was encoded', () => {
    const infoHash = new Uint8Array(20).fill(1)
    const peerId = new Uint8Array(20).fill(2)
    fc.assert(fc.property(fc.array(message, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (messages, cuts) => {
      const stream = new Uint8Array(Buffer.concat([encodeHandshake({ infoHash, peerId }), ...messages.map(encodeMessage)]))
      const decoder = new WireDecoder({ maxMessageLength: 1 << 16 })
      const items: DecodedItem[] = []
      for (const c of chunks(stream, cuts)) items.push(...decoder.push(c))
      expect(items[0]?.kind).toBe('handshake')
      expect(items.slice(1).map((i) => i.kind === 'message' ? plain(i.message) : i)).toEqual(messages.map(plain))
      expect(decoder.buffered).toBe(0)
    }), fuzzParams(500))
  }, FUZZ_TIMEOUT_MS)

  it('arbitrary bytes after a handshake give messages or a ProtocolError, and an error sticks', () => {
    fc.assert(fc.property(bytes(200), fc.array(fc.nat(), { maxLength: 5 }), (junk, cuts) => {
      const decoder = new WireDecoder({ maxMessageLength: 1000, expectHandshake: false })
      let failed: unknown
      for (const c of chunks(junk, cuts)) {
        try {
          decoder.push(c)
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError)
          failed = err
          break
        }
      }
      if (failed !== undefined) expect(() => decoder.push(new Uint8Array(1))).toThrow(ProtocolError)
      // Never holds more than it was given.
      expect(decoder.buffered).toBeLessThanOrEqual(junk.length)
    }), fuzzParams(500))
  }, FUZZ_TIMEOUT_MS)

  it('arbitrary bytes as a handshake give a handshake or a ProtocolError', () => {
    fc.assert(fc.property(bytes(100), (junk) => {
      try {
        new WireDecoder({ maxMessageLength: 1000 }).push(junk)
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError)
      }
    }), fuzzParams(300))
  }, FUZZ_TIMEOUT_MS)
})

describe('extended handshake (property tests)', () => {
  const name = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '__proto__')
  it('decodes what it encodes (ids of 0 are left out)', () => {
    const handshake = fc.record({
      m: fc.dictionary(name, fc.integer({ min: 0, max: 255 }), { maxKeys: 6 }),
      metadataSize: fc.option(fc.integer({ min: 1, max: 2 ** 40 }), { nil: undefined }),
      v: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
      reqq: fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: undefined })
    }, { requiredKeys: ['m'] })
    fc.assert(fc.property(handshake, (h) => {
      const back = decodeExtendedHandshake(encodeExtendedHandshake(h))
      expect(back.m).toEqual(Object.fromEntries(Object.entries(h.m).filter(([, id]) => id !== 0)))
      expect(back.metadataSize).toBe(h.metadataSize)
      expect(back.reqq).toBe(h.reqq)
      if (h.v !== undefined) expect(back.v).toBe(new TextDecoder().decode(new TextEncoder().encode(h.v)))
    }), fuzzParams(100))
  }, FUZZ_TIMEOUT_MS)

  it('any bencoded value or bytes decode to a well-formed handshake or throw ProtocolError; no prototype is touched', () => {
    const payload = fc.oneof(bvalue.map((v) => bencode(v)), bytes(60),
      fc.dictionary(fc.constantFrom('m', 'metadata_size', 'v', 'reqq', '__proto__', 'constructor'), bvalue).map((d) => bencode(d)))
    fc.assert(fc.property(payload, (p) => {
      try {
        const h = decodeExtendedHandshake(p)
        for (const id of Object.values(h.m)) expect(Number.isInteger(id) && id >= 1 && id <= 255).toBe(true)
        if (h.metadataSize !== undefined) expect(Number.isSafeInteger(h.metadataSize) && h.metadataSize > 0).toBe(true)
        expect(Object.getPrototypeOf(h.m)).toBe(Object.prototype)
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError)
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    }), fuzzParams(300))
  }, FUZZ_TIMEOUT_MS)
})
