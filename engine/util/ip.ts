/**
 * IP address literals as bytes: the one parser for peers' addresses (PEX contacts, a tracker's peer list) and for the
 * tracker server's per-address limits (cli/lib/tracker-server.ts addressGroup).
 *
 * Strict: an IPv4 address is a dotted quad of decimal numbers 0-255 without leading zeros (01.2.3.4 is octal to some
 * parsers and decimal to others); an IPv6 address is RFC 4291 section 2.2's text form, eight groups of 1-4 hex digits,
 * a `::` standing for one or more groups of zeros, and the last 32 bits possibly written as a dotted quad
 * (::ffff:1.2.3.4, 64:ff9b::1.2.3.4). A zone id (fe80::1%eth0, as Node names a link-local peer) is refused: it is no
 * part of an address another host can dial, and callers that accept one strip it themselves.
 */

/** Parses an IPv4 or IPv6 address into its 4 or 16 bytes; undefined if it is not one (see the module's comment). */
export function parseIp (ip: string): Uint8Array | undefined {
  return ip.includes(':') ? parseIpv6(ip) : parseIpv4(ip)
}

function parseIpv4 (ip: string): Uint8Array | undefined {
  const parts = ip.split('.')
  if (parts.length !== 4) return undefined
  const out = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined
    out[i] = Number(part)
  }
  return out
}

function parseIpv6 (ip: string): Uint8Array | undefined {
  const halves = ip.split('::')
  if (halves.length > 2) return undefined
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'))
  const head = groups(halves[0]!)
  const tail = halves.length === 2 ? groups(halves[1]!) : []
  // A dotted quad can only be the address's last part, and stands for its last two groups.
  const last = halves.length === 2 ? tail : head
  let quad: Uint8Array | undefined
  if (last.length > 0 && last[last.length - 1]!.includes('.')) {
    quad = parseIpv4(last.pop()!)
    if (quad === undefined) return undefined
  }
  const count = quad === undefined ? 8 : 6
  const missing = count - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const all = [...head, ...new Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]
  const out = new Uint8Array(16)
  for (let i = 0; i < count; i++) {
    const g = all[i]!
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined
    const v = parseInt(g, 16)
    out[2 * i] = v >> 8
    out[2 * i + 1] = v & 0xff
  }
  if (quad !== undefined) out.set(quad, 12)
  return out
}

/** An address's bytes as text: a dotted quad, or eight lowercase hex groups without `::` shortening. */
export function formatIp (bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.')
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16))
  return groups.join(':')
}

/**
 * The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2: how a dual-stack
 * socket names an IPv4 client), else undefined.
 */
export function ipv4Mapped (bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length !== 16 || bytes[10] !== 0xff || bytes[11] !== 0xff) return undefined
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return undefined
  return bytes.subarray(12)
}

/**
 * An address as peers are told apart by it: an IPv4-mapped IPv6 address, however it is written (::ffff:1.2.3.4,
 * ::FFFF:102:304, 0:0:0:0:0:ffff:102:304), is its IPv4 host's dotted quad, so that a peer named one way by a
 * dual-stack socket, a PEX `added6` or a tracker's `peers6` and the other way elsewhere is one contact, one address to
 * limit and one to ban. Any other text is returned as given (a zone id too: callers refuse or strip it).
 */
export function normalizeIp (ip: string): string {
  const bytes = ip.includes(':') ? parseIp(ip) : undefined
  const mapped = bytes === undefined ? undefined : ipv4Mapped(bytes)
  return mapped === undefined ? ip : formatIp(mapped)
}

/**
 * An address's bytes as text, as peers are told apart by it (normalizeIp): an IPv4-mapped one as its IPv4 dotted
 * quad, any other as formatIp writes it.
 */
export function peerIp (bytes: Uint8Array): string {
  return formatIp(ipv4Mapped(bytes) ?? bytes)
}
