import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../../../../engine/errors.js'
import {
  PEX_FLAGS, PEX_INTERVAL_MS, PEX_MAX_PEERS, PexState, contactKey, decodePex, encodePex
} from '../../../../engine/extensions/ut_pex.js'
import { bencode } from '../../../../engine/util/bencode.js'
import { utf8 } from '../../../../engine/util/bytes.js'
import { parseIp } from '../../../../engine/util/ip.js'

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b)
const v4 = (i: number): { ip: string, port: number } => ({ ip: `10.0.${i >> 8}.${i & 0xff}`, port: 6881 })

describe('ut_pex codec', () => {
  it('encodes compact contacts byte for byte (address, then port big-endian) with one flags byte each', () => {
    const payload = encodePex({
      added: [{ ip: '1.2.3.4', port: 0x1ae1, flags: PEX_FLAGS.seed | PEX_FLAGS.reachable }],
      dropped: [{ ip: '5.6.7.8', port: 80 }]
    })
    const expected = bencode({
      added: bytes(1, 2, 3, 4, 0x1a, 0xe1),
      'added.f': bytes(0x12),
      dropped: bytes(5, 6, 7, 8, 0, 80)
    })
    expect(payload).toEqual(expected)
    expect(utf8.decode(payload.subarray(0, 9))).toBe('d5:added6')
  })

  it('round-trips IPv4 and IPv6 contacts, flags included', () => {
    const msg = {
      added: [
        { ip: '192.168.1.10', port: 51413, flags: PEX_FLAGS.utp },
        { ip: '2001:db8::1', port: 6881, flags: PEX_FLAGS.seed }
      ],
      dropped: [{ ip: '10.0.0.1', port: 1 }, { ip: '::1', port: 65535 }]
    }
    expect(decodePex(encodePex(msg))).toEqual({
      added: [
        { ip: '192.168.1.10', port: 51413, flags: PEX_FLAGS.utp },
        { ip: '2001:db8:0:0:0:0:0:1', port: 6881, flags: PEX_FLAGS.seed }
      ],
      dropped: [{ ip: '10.0.0.1', port: 1 }, { ip: '0:0:0:0:0:0:0:1', port: 65535 }]
    })
  })

  it('gives an IPv4-mapped contact of added6 or dropped6 as its IPv4 address, and keys it as one', () => {
    const mapped = { ip: '::ffff:10.0.0.1', port: 6881 }
    expect(decodePex(encodePex({ added: [{ ...mapped, flags: PEX_FLAGS.seed }], dropped: [mapped] }))).toEqual({
      added: [{ ip: '10.0.0.1', port: 6881, flags: PEX_FLAGS.seed }],
      dropped: [{ ip: '10.0.0.1', port: 6881 }]
    })
    expect(contactKey(mapped)).toBe('10.0.0.1:6881')
    expect(contactKey({ ip: '0:0:0:0:0:ffff:a00:1', port: 6881 })).toBe(contactKey({ ip: '10.0.0.1', port: 6881 }))
  })

  it('decodes a message without flags (they are optional) and an empty dictionary', () => {
    expect(decodePex(bencode({ added: bytes(127, 0, 0, 1, 0, 1) }))).toEqual({ added: [{ ip: '127.0.0.1', port: 1, flags: 0 }], dropped: [] })
    expect(decodePex(utf8.encode('de'))).toEqual({ added: [], dropped: [] })
  })

  it('rejects what is not a ut_pex dictionary, or a contact list of the wrong length', () => {
    for (const bad of [
      utf8.encode(''), utf8.encode('le'), utf8.encode('i5e'), utf8.encode('d5:added'), utf8.encode('d1:a-3:xxe'),
      bencode({ added: bytes(1, 2, 3, 4, 5) }),
      bencode({ added6: new Uint8Array(17) }),
      bencode({ dropped: 5 }),
      bencode({ added: [bytes(1, 2, 3, 4, 0, 1)] })
    ]) {
      expect(() => decodePex(bad), utf8.decode(bad)).toThrow(ProtocolError)
    }
  })

  it('keeps at most 50 added and 50 dropped contacts, skips port 0, ignores mismatched flags and unknown keys', () => {
    const many = new Uint8Array(6 * 1000)
    for (let i = 0; i < 1000; i++) many.set([10, 1, i >> 8, i & 0xff, 0, 7], i * 6)
    many.set([9, 9, 9, 9, 0, 0], 0) // port 0: not a contact
    const msg = decodePex(bencode({ added: many, 'added.f': bytes(1, 2), dropped: many, added6: new Uint8Array(18 * 3), x: 1 }))
    expect(msg.added).toHaveLength(PEX_MAX_PEERS)
    expect(msg.dropped).toHaveLength(PEX_MAX_PEERS)
    expect(msg.added[0]).toEqual({ ip: '10.1.0.1', port: 7, flags: 0 })
    expect(msg.added.every((c) => c.port !== 0 && c.ip.startsWith('10.1.'))).toBe(true)
  })

  it('keeps flags aligned with their contacts when a port-0 contact is skipped', () => {
    const msg = decodePex(bencode({ added: bytes(1, 1, 1, 1, 0, 0, 2, 2, 2, 2, 0, 2), 'added.f': bytes(0x01, 0x02) }))
    expect(msg.added).toEqual([{ ip: '2.2.2.2', port: 2, flags: 0x02 }])
  })

  it('refuses to encode invalid contacts or more than 50 per list (API misuse)', () => {
    expect(() => encodePex({ added: [{ ip: '1.2.3', port: 1 }] })).toThrow(RangeError)
    expect(() => encodePex({ added: [{ ip: '256.1.1.1', port: 1 }] })).toThrow(RangeError)
    expect(() => encodePex({ added: [{ ip: '1.2.3.4', port: 0 }] })).toThrow(RangeError)
    expect(() => encodePex({ dropped: [{ ip: '1::2::3', port: 1 }] })).toThrow(RangeError)
    expect(() => encodePex({ added: Array.from({ length: 51 }, (_, i) => v4(i)) })).toThrow(RangeError)
  })

  it('parses addresses strictly', () => {
    expect(parseIp('0.0.0.0')).toEqual(new Uint8Array(4))
    expect(parseIp('01.2.3.4')).toBeUndefined()
    expect(parseIp('1.2.3.4.5')).toBeUndefined()
    expect(parseIp('::')).toEqual(new Uint8Array(16))
    expect(parseIp('1:2:3:4:5:6:7:8:9')).toBeUndefined()
    expect(parseIp('1:2:3:4:5:6:7::8')).toBeUndefined() // '::' must stand for at least one group
    expect(parseIp('g::1')).toBeUndefined()
    expect(contactKey({ ip: '2001:DB8::1', port: 80 })).toBe('[2001:db8:0:0:0:0:0:1]:80')
    // An embedded dotted quad is an IPv6 address's last 32 bits (engine/util/ip.ts, shared with the tracker server);
    // an IPv4-mapped address is keyed as its IPv4 host.
    expect(contactKey({ ip: '::ffff:1.2.3.4', port: 80 })).toBe('1.2.3.4:80')
    expect(contactKey({ ip: '64:ff9b::1.2.3.4', port: 80 })).toBe('[64:ff9b:0:0:0:0:102:304]:80')
  })
})

describe('PexState', () => {
  it('sends the difference since the last message, at most once a minute and at most 50 each way', () => {
    const state = new PexState()
    const first = Array.from({ length: 60 }, (_, i) => v4(i))
    const m1 = state.next(first, 0)!
    expect(m1.added).toHaveLength(50)
    expect(m1.dropped).toEqual([])
    expect(state.next(first, PEX_INTERVAL_MS - 1)).toBeUndefined() // too early
    const m2 = state.next(first, PEX_INTERVAL_MS)!
    expect(m2.added.map((c) => c.ip)).toEqual(first.slice(50).map((c) => c.ip)) // the rest
    expect(state.next(first, 2 * PEX_INTERVAL_MS)).toBeUndefined() // nothing changed
    const m3 = state.next([...first.slice(1), v4(100)], 3 * PEX_INTERVAL_MS)!
    expect(m3.added.map((c) => c.ip)).toEqual([v4(100).ip])
    expect(m3.dropped).toEqual([v4(0)])
    expect(decodePex(encodePex(m3))).toEqual({ added: [{ ...v4(100), flags: 0 }], dropped: [v4(0)] })
  })

  it('leaves out contacts it could not encode (an address with a zone, a bad port) instead of throwing', () => {
    const state = new PexState()
    const bad = [{ ip: 'fe80::fc:ff:fe00:1%eth0', port: 6881 }, { ip: 'example.com', port: 6881 }, { ...v4(1), port: 70000 }, { ...v4(2), port: 0 }]
    const m = state.next([...bad, v4(3)], 0)!
    expect(m.added.map((c) => c.ip)).toEqual([v4(3).ip])
    expect(decodePex(encodePex(m)).added).toEqual([{ ...v4(3), flags: 0 }])
  })
})
