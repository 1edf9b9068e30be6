/**
 * Site ids: the first label of a gateway address `<id>.<gateway host>` (`peersite gateway`, `peersite loader`).
 * `id` is the lowercase RFC 4648 base32 (no padding) of the torrent's 20-byte infohash (32 characters) or of a site
 * key's 32-byte public key (52 characters). Each site gets an origin of its own, so browsers keep its storage,
 * caches, cookies and service worker apart from every other site's.
 *
 * Only the canonical spelling is accepted (lowercase, unused trailing bits zero): one site, one origin. Browsers
 * lowercase host names themselves, so an address typed in capitals still reaches the same origin.
 */
import { POINTER_PUBLIC_KEY_BYTES, SITE_ID_INFOHASH_CHARS, SITE_ID_KEY_CHARS } from '../constants.js'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'

export type SiteId =
  /** A torrent: its infohash as 40 lowercase hex digits. */
  | { readonly kind: 'infohash', readonly id: string, readonly infoHash: string }
  /** A site key (BEP 46 address): its ed25519 public key as 64 lowercase hex digits. */
  | { readonly kind: 'key', readonly id: string, readonly publicKey: string }

/** RFC 4648 base32 of `bytes`, lowercase, without padding. */
export function base32Encode (bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out
}

/** The bytes of a lowercase unpadded base32 string, or undefined if it is not one in canonical form. */
export function base32Decode (text: string): Uint8Array | undefined {
  const out = new Uint8Array(Math.floor(text.length * 5 / 8))
  let bits = 0
  let value = 0
  let n = 0
  for (const ch of text) {
    const digit = ALPHABET.indexOf(ch)
    if (digit < 0) return undefined
    value = ((value << 5) | digit) & 0xfff
    bits += 5
    if (bits >= 8) {
      out[n++] = (value >>> (bits - 8)) & 0xff
      bits -= 8
    }
  }
  // Leftover bits must be zero, and fewer than 5 of them: otherwise two spellings would name one site.
  if (bits >= 5 || (value & ((1 << bits) - 1)) !== 0) return undefined
  return out
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/** The site id of an infohash (40 hex digits) or a public key (64 hex digits). */
export function siteIdOf (hexId: string): string {
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(hexId)) throw new TypeError('a site id is made from a 40-hex infohash or a 64-hex public key')
  const bytes = new Uint8Array(hexId.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hexId.slice(2 * i, 2 * i + 2), 16)
  return base32Encode(bytes)
}

/** The site named by one DNS label, or undefined if the label is not a site id. */
export function parseSiteId (label: string): SiteId | undefined {
  if (label.length !== SITE_ID_INFOHASH_CHARS && label.length !== SITE_ID_KEY_CHARS) return undefined
  const bytes = base32Decode(label)
  if (bytes === undefined) return undefined
  if (bytes.length === 20) return { kind: 'infohash', id: label, infoHash: hex(bytes) }
  if (bytes.length === POINTER_PUBLIC_KEY_BYTES) return { kind: 'key', id: label, publicKey: hex(bytes) }
  return undefined
}

/**
 * The site a host name names: its first label, if that is a site id and more labels follow (`<id>.localhost`,
 * `<id>.sites.example`). This is the only place an id is ever taken from: never a path, query or fragment, so no
 * address can make one site's origin load another site. Nested names are refused: under localhost only
 * `<id>.localhost` itself, and elsewhere no label after the first may be a site id. At `<A>.<B>.localhost` site A
 * could set a cookie with Domain=`<B>.localhost`, which site B's origin would then be sent.
 */
export function siteIdFromHost (hostname: string): SiteId | undefined {
  const labels = hostname.toLowerCase().split('.')
  const [first = '', ...rest] = labels
  if (rest.length === 0 || labels.includes('')) return undefined
  if (rest[rest.length - 1] === 'localhost' && rest.length > 1) return undefined
  if (rest.some((label) => parseSiteId(label) !== undefined)) return undefined
  return parseSiteId(first)
}
