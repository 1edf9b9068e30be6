/** Property tests: the bencode wrapper (engine/util/bencode.ts) against arbitrary values and arbitrary bytes. */
import reference from 'bencode'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BencodeError, bdecode, bdecodePrefix, bencode, bencodedLength, rawDictValue, type BValue } from '../../../engine/util/bencode.js'
import { bvalue } from './arbitraries.js'
import { FUZZ_TIMEOUT_MS, fuzzParams } from './runs.js'

const asBytes = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength)

/** Structural equality with byte strings compared as bytes (the library may hand back Buffers). */
function same (a: BValue, b: BValue): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) return a instanceof Uint8Array && b instanceof Uint8Array && asBytes(a).equals(asBytes(b))
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]!))
  if (typeof a === 'number' || typeof b === 'number') return a === b
  const ka = Object.keys(a).sort()
  const kb = Object.keys(b).sort()
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same(a[k]!, b[k]!))
}

describe('bencode (property tests)', () => {
  it('decodes what it encodes, and the length of the encoding is what the grammar check says', () => {
    fc.assert(fc.property(bvalue, fc.uint8Array({ maxLength: 8 }), (value, junk) => {
      const bytes = bencode(value)
      expect(same(bdecode(bytes), value)).toBe(true)
      expect(bencodedLength(bytes)).toBe(bytes.length)
      const withJunk = new Uint8Array([...bytes, ...junk])
      expect(bdecodePrefix(withJunk).length).toBe(bytes.length)
    }), fuzzParams(300))
  }, FUZZ_TIMEOUT_MS)

  it('arbitrary bytes decode or throw BencodeError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        bdecode(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(BencodeError)
      }
    }), fuzzParams(500))
  }, FUZZ_TIMEOUT_MS)

  it('a valid encoding with one byte changed, inserted or removed decodes or throws BencodeError', () => {
    // Random bytes rarely look like bencoding; mutations of real encodings reach the corner cases (lengths, 'e's).
    const mutated = fc.tuple(bvalue, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete'))
    fc.assert(fc.property(mutated, ([value, at, byte, how]) => {
      const bytes = [...bencode(value)]
      const i = at % (bytes.length + 1)
      if (how === 'set' && i < bytes.length) bytes[i] = byte
      else if (how === 'insert') bytes.splice(i, 0, byte)
      else bytes.splice(i, 1)
      try {
        bdecode(new Uint8Array(bytes))
      } catch (err) {
        expect(err).toBeInstanceOf(BencodeError)
      }
    }), fuzzParams(500))
  }, FUZZ_TIMEOUT_MS)

  it('rawDictValue gives each value\'s bytes exactly as encoded', () => {
    const dict = fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), bvalue, { minKeys: 1, maxKeys: 6 })
    fc.assert(fc.property(dict, fc.string({ maxLength: 8 }), (d, other) => {
      const bytes = bencode(d)
      for (const key of Object.keys(d)) expect(asBytes(rawDictValue(bytes, key)!).equals(asBytes(bencode(d[key])))).toBe(true)
      if (!Object.hasOwn(d, other)) expect(rawDictValue(bytes, other)).toBeUndefined()
    }), fuzzParams(300))
  }, FUZZ_TIMEOUT_MS)

  // The `bencode` npm package (a devDependency) as the reference oracle: same bytes out, same values in.
  it('encodes exactly as the bencode package does', () => {
    fc.assert(fc.property(bvalue, (value) => {
      expect(asBytes(bencode(value)).equals(asBytes(reference.encode(value) as Uint8Array))).toBe(true)
    }), fuzzParams(300))
  }, FUZZ_TIMEOUT_MS)

  it('decodes any input it accepts to what the bencode package decodes', () => {
    const mutated = fc.tuple(bvalue, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'none'))
    fc.assert(fc.property(mutated, ([value, at, byte, how]) => {
      const bytes = [...bencode(value)]
      const i = at % (bytes.length + 1)
      if (how === 'set' && i < bytes.length) bytes[i] = byte
      else if (how === 'insert') bytes.splice(i, 0, byte)
      else if (how === 'delete') bytes.splice(i, 1)
      let ours: BValue
      try {
        ours = bdecode(new Uint8Array(bytes))
      } catch {
        return
      }
      expect(same(ours, reference.decode(Buffer.from(bytes)) as BValue)).toBe(true)
    }), fuzzParams(500))
  }, FUZZ_TIMEOUT_MS)
})

describe('bencode (hostile input)', () => {
  it('keeps __proto__ an ordinary key of a prototype-less dictionary', () => {
    const d = bdecode(new TextEncoder().encode('d9:__proto__d1:xi1eee')) as Record<string, BValue>
    expect(Object.getPrototypeOf(d)).toBeNull()
    expect(Object.keys(d)).toEqual(['__proto__'])
    expect(({} as Record<string, unknown>).x).toBeUndefined()
  })

  it('refuses deep nesting with BencodeError instead of overflowing the stack', () => {
    const deep = new TextEncoder().encode('l'.repeat(100_000) + 'e'.repeat(100_000))
    expect(() => bdecode(deep)).toThrow(BencodeError)
    expect(() => bencodedLength(deep)).toThrow(BencodeError)
    expect(bdecode(new TextEncoder().encode('l'.repeat(64) + 'e'.repeat(64)))).toBeInstanceOf(Array)
  })

  it('refuses to encode what bencoding cannot carry (API misuse)', () => {
    expect(() => bencode(1.5)).toThrow(TypeError)
    expect(() => bencode({ a: () => 1 })).toThrow(TypeError)
  })

  it('sorts dictionary keys as raw bytes (BEP 3), not as UTF-16 code units', () => {
    // As UTF-8, U+FF61 (EF BD A1) comes before U+1F600 (F0 9F 98 80); as UTF-16, the surrogate D83D comes first.
    const text = new TextDecoder().decode(bencode({ '\u{1F600}': 1, '\uFF61': 2 }))
    expect(text.indexOf('\uFF61')).toBeLessThan(text.indexOf('\u{1F600}'))
  })
})
