import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../../../../engine/errors.js'
import { utf8 } from '../../../../engine/util/bytes.js'
import { decodeExtendedHandshake, encodeExtendedHandshake } from '../../../../engine/wire/extended.js'

const text = (s: string): Uint8Array => utf8.encode(s)

describe('encodeExtendedHandshake', () => {
  it('writes a sorted bencoded dictionary with m, metadata_size, reqq and v', () => {
    const out = encodeExtendedHandshake({ m: { ut_pex: 2, ut_metadata: 1 }, metadataSize: 31235, v: 'peersite 0.1.0', reqq: 256 })
    expect(utf8.decode(out)).toBe('d1:md11:ut_metadatai1e6:ut_pexi2ee13:metadata_sizei31235e4:reqqi256e1:v14:peersite 0.1.0e')
  })

  it('writes only m when nothing else is given, and keeps 0 (disable)', () => {
    expect(utf8.decode(encodeExtendedHandshake({ m: {} }))).toBe('d1:mdee')
    expect(utf8.decode(encodeExtendedHandshake({ m: { ut_metadata: 0 } }))).toBe('d1:md11:ut_metadatai0eee')
  })

  it('encodes v as UTF-8', () => {
    const out = encodeExtendedHandshake({ m: {}, v: 'µTorrent 1.2' })
    expect(utf8.decode(out)).toBe('d1:mde1:v13:µTorrent 1.2e')
  })

  it('throws RangeError for ids outside 0..255 and bad sizes (API misuse)', () => {
    expect(() => encodeExtendedHandshake({ m: { x: 256 } })).toThrow(RangeError)
    expect(() => encodeExtendedHandshake({ m: { x: -1 } })).toThrow(RangeError)
    expect(() => encodeExtendedHandshake({ m: { x: 1.5 } })).toThrow(RangeError)
    expect(() => encodeExtendedHandshake({ m: {}, metadataSize: 0 })).toThrow(RangeError)
    expect(() => encodeExtendedHandshake({ m: {}, reqq: -3 })).toThrow(RangeError)
  })
})

describe('decodeExtendedHandshake', () => {
  it('round-trips', () => {
    const h = { m: { ut_metadata: 3, ut_pex: 1, peersite_x: 255 }, metadataSize: 123456, v: 'peersite 0.1.0', reqq: 250 }
    expect(decodeExtendedHandshake(encodeExtendedHandshake(h))).toEqual(h)
  })

  it('reads the BEP 10 example (µTorrent, with p; key lengths in UTF-8 bytes)', () => {
    const h = decodeExtendedHandshake(text('d1:md11:LT_metadatai1e7:µT_PEXi2ee1:pi6881e1:v13:µTorrent 1.2e'))
    expect(h).toEqual({ m: { LT_metadata: 1, µT_PEX: 2 }, v: 'µTorrent 1.2', p: 6881 })
  })

  it('writes and reads p, the TCP listening port, and drops one out of range', () => {
    expect(decodeExtendedHandshake(encodeExtendedHandshake({ m: {}, p: 51413 })).p).toBe(51413)
    expect(decodeExtendedHandshake(text('d1:pi70000ee'))).toEqual({ m: {} })
    expect(() => encodeExtendedHandshake({ m: {}, p: 0 })).toThrow(RangeError)
  })

  it('drops ids of 0 (disabled)', () => {
    expect(decodeExtendedHandshake(text('d1:md11:ut_metadatai0e6:ut_pexi1eee')).m).toEqual({ ut_pex: 1 })
  })

  it('treats a missing m as empty (BEP 10: all items are optional)', () => {
    expect(decodeExtendedHandshake(text('d4:reqqi5ee'))).toEqual({ m: {}, reqq: 5 })
    expect(decodeExtendedHandshake(text('de'))).toEqual({ m: {} })
  })

  it('ignores unknown keys and wrongly typed optional fields', () => {
    const h = decodeExtendedHandshake(text('d1:md1:xi1ee13:metadata_size3:abc4:reqqi-4e1:vi7e6:yourip4:\x7f\x00\x00\x01e'))
    expect(h).toEqual({ m: { x: 1 } })
    expect(decodeExtendedHandshake(text('d1:mde13:metadata_sizei0ee'))).toEqual({ m: {} })
  })

  it('does not let a __proto__ key reach the prototype', () => {
    const h = decodeExtendedHandshake(text('d1:md9:__proto__i4eee'))
    expect(Object.getPrototypeOf(h.m)).toBe(Object.prototype)
    // __proto__ is an ordinary extension name: an own key of m, nothing polluted.
    expect(Object.keys(h.m)).toEqual(['__proto__'])
    expect(Object.getOwnPropertyDescriptor(h.m, '__proto__')?.value).toBe(4)
    expect(({} as Record<string, unknown>).x).toBeUndefined()
    // A top-level __proto__ dictionary must not supply an inherited m.
    expect(decodeExtendedHandshake(text('d9:__proto__d1:md1:xi1eeee')).m).toEqual({})
  })

  const malformed: Array<[string, string]> = [
    ['an empty payload', ''],
    ['garbage', 'hello'],
    ['a list', 'li1ee'],
    ['an integer', 'i1e'],
    ['truncated bencoding', 'd1:md11:ut_metadatai1e'],
    ['trailing bytes', 'd1:mdeexx'],
    ['m as a list', 'd1:mli1eee'],
    ['m as a string', 'd1:m3:abce'],
    ['an id above 255', 'd1:md1:xi256eee'],
    ['a negative id', 'd1:md1:xi-1eee'],
    ['an id that is a string', 'd1:md1:x1:1ee'],
    ['a negative string length (hangs the bencode library unless checked)', 'd1:a-3:xxe']
  ]
  for (const [name, payload] of malformed) {
    it(`throws ProtocolError for ${name}`, () => {
      expect(() => decodeExtendedHandshake(text(payload))).toThrow(ProtocolError)
    })
  }
})
