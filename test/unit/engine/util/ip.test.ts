/**
 * engine/util/ip.ts: the one IP address parser, shared by PEX (engine/extensions/ut_pex.ts), the HTTP tracker's peer
 * lists and the tracker server's per-address limits (cli/lib/tracker-server.ts addressGroup).
 */
import { isIP } from 'node:net'
import { describe, expect, it } from 'vitest'
import { formatIp, ipv4Mapped, normalizeIp, parseIp } from '../../../../engine/util/ip.js'

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b)
/** The 16 bytes of an IPv6 address given as its eight groups. */
const groups = (...g: number[]): Uint8Array => Uint8Array.from(g.flatMap((v) => [v >> 8, v & 0xff]))

describe('parseIp', () => {
  it('reads an IPv4 dotted quad, without leading zeros or values over 255', () => {
    expect(parseIp('203.0.113.7')).toEqual(bytes(203, 0, 113, 7))
    expect(parseIp('0.0.0.0')).toEqual(new Uint8Array(4))
    expect(parseIp('255.255.255.255')).toEqual(bytes(255, 255, 255, 255))
    for (const bad of ['256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1.2.3.', '1..2.3', '+1.2.3.4', '1.2.3.4 ', '0x1.2.3.4', '']) {
      expect(parseIp(bad), bad).toBeUndefined()
    }
  })

  it('reads an IPv6 address written in full or with `::` anywhere', () => {
    expect(parseIp('2001:0db8:0001:0002:ffff:eeee:dddd:cccc')).toEqual(groups(0x2001, 0xdb8, 1, 2, 0xffff, 0xeeee, 0xdddd, 0xcccc))
    expect(parseIp('2001:DB8::1')).toEqual(groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))
    expect(parseIp('::1')).toEqual(groups(0, 0, 0, 0, 0, 0, 0, 1))
    expect(parseIp('2001:db8:1::')).toEqual(groups(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0))
    expect(parseIp('::')).toEqual(new Uint8Array(16))
    expect(parseIp('1:2:3:4:5:6::8')).toEqual(groups(1, 2, 3, 4, 5, 6, 0, 8))
  })

  it('reads the last 32 bits of an IPv6 address written as a dotted quad', () => {
    expect(parseIp('::ffff:1.2.3.4')).toEqual(groups(0, 0, 0, 0, 0, 0xffff, 0x102, 0x304))
    expect(parseIp('::FFFF:203.0.113.7')).toEqual(parseIp('::ffff:cb00:7107'))
    expect(parseIp('64:ff9b::1.2.3.4')).toEqual(groups(0x64, 0xff9b, 0, 0, 0, 0, 0x102, 0x304))
    expect(parseIp('2001:db8:1:2:3:4:1.2.3.4')).toEqual(groups(0x2001, 0xdb8, 1, 2, 3, 4, 0x102, 0x304))
    expect(parseIp('::1.2.3.4')).toEqual(groups(0, 0, 0, 0, 0, 0, 0x102, 0x304))
    // Only as the last part, in place of exactly two groups, and a valid dotted quad itself.
    for (const bad of ['1.2.3.4::', '1.2.3.4::1', '::1.2.3.4:1', '1:2:3:4:5:6:7:1.2.3.4', '1:2:3:4:5:1.2.3.4', '1:2:3:4:5:6::1.2.3.4', '::ffff:1.2.3', '::ffff:256.1.1.1', '::ffff:01.2.3.4']) {
      expect(parseIp(bad), bad).toBeUndefined()
    }
  })

  it('refuses a zone id (fe80::1%eth0: no address another host can dial) and anything else that is not an address', () => {
    for (const bad of ['fe80::1%eth0', 'fe80::1%1', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7::8', '1::2::3', ':::', ':1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:', 'g::1', '12345::1', '[::1]', '::1 ', 'example.com', 'not an address']) {
      expect(parseIp(bad), bad).toBeUndefined()
    }
  })

  it('agrees with Node on which strings are IP addresses (zone ids aside)', () => {
    const samples = ['1.2.3.4', '01.2.3.4', '::', '::1', '1::', '::ffff:1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4',
      '1.2.3.4::', '1:2:3:4:5:6:7::8', '1::2::3', 'abcd::ef01', 'abcde::1', '::ffff:1.2.3', '1:2:3:4:5:6:7:8', '1:2:3:4:5::7:8', '1:2:3:4:5:6::1.2.3.4', '1:2:3:4:5::1.2.3.4']
    for (const ip of samples) expect(parseIp(ip) !== undefined, ip).toBe(isIP(ip) !== 0)
  })
})

describe('formatIp and ipv4Mapped', () => {
  it('writes an address out in full, and round-trips through parseIp', () => {
    expect(formatIp(bytes(10, 0, 0, 1))).toBe('10.0.0.1')
    expect(formatIp(parseIp('2001:DB8::1')!)).toBe('2001:db8:0:0:0:0:0:1')
    for (const ip of ['10.0.0.1', '2001:db8:0:0:0:0:0:1', '0:0:0:0:0:ffff:102:304']) expect(formatIp(parseIp(ip)!)).toBe(ip)
  })

  it('finds the IPv4 address inside an IPv4-mapped IPv6 address only', () => {
    expect(ipv4Mapped(parseIp('::ffff:203.0.113.7')!)).toEqual(bytes(203, 0, 113, 7))
    expect(ipv4Mapped(parseIp('::ffff:cb00:7107')!)).toEqual(bytes(203, 0, 113, 7))
    expect(ipv4Mapped(parseIp('64:ff9b::1.2.3.4')!)).toBeUndefined()
    expect(ipv4Mapped(parseIp('::1.2.3.4')!)).toBeUndefined()
    expect(ipv4Mapped(parseIp('1::ffff:1.2.3.4')!)).toBeUndefined()
    expect(ipv4Mapped(bytes(1, 2, 3, 4))).toBeUndefined()
  })
})

describe('normalizeIp', () => {
  it('writes an IPv4-mapped address, however spelt, as its dotted quad', () => {
    for (const ip of ['::ffff:203.0.113.7', '::FFFF:203.0.113.7', '::ffff:cb00:7107', '0:0:0:0:0:ffff:cb00:7107', '0::ffff:203.0.113.7']) {
      expect(normalizeIp(ip), ip).toBe('203.0.113.7')
    }
  })

  it('leaves every other text as given', () => {
    for (const ip of ['203.0.113.7', '2001:db8::1', '::1', '64:ff9b::1.2.3.4', '::1.2.3.4', 'fe80::1%eth0', '::ffff:1.2.3.4%eth0', 'example.org', '']) {
      expect(normalizeIp(ip), ip).toBe(ip)
    }
  })
})
