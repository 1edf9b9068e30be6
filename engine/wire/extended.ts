/**
 * The BEP 10 extended handshake: the bencoded payload of an `extended` message with extended id 0.
 * Framing (length prefix, id 20, extended id 0) is codec.ts's job; this file only builds and reads the dictionary.
 */
import { CHECK_ARGS } from '../constants.js'
import { ProtocolError } from '../errors.js'
import { BencodeError, bdecode, isBytes, isDict, isInt, type BValue } from '../util/bencode.js'
import { utf8 } from '../util/bytes.js'
import type { ExtendedHandshake } from './messages.js'

/** Defined true in the browser builds (scripts/build-browser.mjs). */
declare const PEERSITE_BROWSER: boolean | undefined

/** BEP 10: "a single byte message identifier", so ids are 0..255; "Setting an extension number to zero means that
 * the extension is not supported/disabled". */
const MAX_EXTENDED_ID = 0xff

/**
 * Encodes `{ m, metadata_size?, v?, reqq?, p? }`. An id of 0 in `m` is written as is: BEP 10 uses it in a later
 * handshake to switch an extension off. Invalid ids or sizes are API misuse and throw RangeError.
 */
export function encodeExtendedHandshake (h: ExtendedHandshake): Uint8Array {
  // Written out in its fixed key order rather than through bencode() (whose encoder peersite.js then need not carry):
  // BEP 3 sorts keys as raw byte strings, and m < metadata_size < p < reqq < v. The extension names are ours and
  // ASCII, so sort() orders them as their bytes. Integers are safe integers here, written out in digits.
  const str = (s: string): string => `${utf8.encode(s).length}:${s}`
  let out = 'd1:md'
  for (const name of Object.keys(h.m).sort()) {
    const id = h.m[name]!
    if (CHECK_ARGS && (!Number.isInteger(id) || id < 0 || id > MAX_EXTENDED_ID)) throw new RangeError(`extension ${name}: id ${id} is not 0..255`)
    out += `${str(name)}i${id}e`
  }
  out += 'e'
  if (h.metadataSize !== undefined) {
    if (CHECK_ARGS && (!Number.isSafeInteger(h.metadataSize) || h.metadataSize <= 0)) throw new RangeError(`invalid metadataSize ${h.metadataSize}`)
    out += `13:metadata_sizei${h.metadataSize}e`
  }
  if (typeof PEERSITE_BROWSER === 'undefined' && h.p !== undefined) {
    if (!Number.isInteger(h.p) || h.p <= 0 || h.p > 65535) throw new RangeError(`invalid port ${h.p}`)
    out += `1:pi${h.p}e`
  }
  if (h.reqq !== undefined) {
    if (CHECK_ARGS && (!Number.isSafeInteger(h.reqq) || h.reqq <= 0)) throw new RangeError(`invalid reqq ${h.reqq}`)
    out += `4:reqqi${h.reqq}e`
  }
  if (h.v !== undefined) out += `1:v${str(h.v)}`
  return utf8.encode(`${out}e`)
}

/**
 * Reads an extended handshake from a peer. BEP 10: "All items in the dictionary are optional. Any unknown names
 * should be ignored", so a missing `m` is an empty one and an optional field of the wrong type is dropped, but a
 * payload that is not a dictionary, or an `m` that is not a dictionary of ids 0..255, is a ProtocolError.
 * Entries with id 0 (disabled) are left out of the result.
 */
export function decodeExtendedHandshake (payload: Uint8Array): ExtendedHandshake {
  let value: BValue
  try {
    value = bdecode(payload)
  } catch (err) {
    if (err instanceof BencodeError) throw new ProtocolError(`extended handshake: ${err.message}`, { cause: err })
    throw err
  }
  if (!isDict(value)) throw new ProtocolError('extended handshake is not a dictionary')

  const m: Record<string, number> = {}
  const rawM = own(value, 'm')
  if (rawM !== undefined) {
    if (!isDict(rawM)) throw new ProtocolError('extended handshake: m is not a dictionary')
    for (const name of Object.keys(rawM)) {
      const id = rawM[name]
      if (!isInt(id) || id < 0 || id > MAX_EXTENDED_ID) throw new ProtocolError(`extended handshake: m.${name} is not an id 0..255`)
      // defineProperty: a peer-chosen name such as "__proto__" must stay a plain key, not reach the prototype.
      if (id !== 0) Object.defineProperty(m, name, { value: id, enumerable: true, writable: true, configurable: true })
    }
  }

  const handshake: { m: Record<string, number>, metadataSize?: number, v?: string, reqq?: number, p?: number } = { m }
  const metadataSize = own(value, 'metadata_size')
  if (isInt(metadataSize) && metadataSize > 0) handshake.metadataSize = metadataSize
  const reqq = own(value, 'reqq')
  if (isInt(reqq) && reqq > 0) handshake.reqq = reqq
  // The client's name and listen port: for peer exchange and status lines in Node; a browser reads neither.
  if (typeof PEERSITE_BROWSER === 'undefined') {
    const v = own(value, 'v')
    if (isBytes(v)) handshake.v = utf8.decode(v)
    const p = own(value, 'p')
    if (isInt(p) && p > 0 && p <= 65535) handshake.p = p
  }
  return handshake
}

/** An own property only: bdecode's dicts have no prototype, and this keeps inherited names out whatever the input. */
function own (dict: { [key: string]: BValue }, key: string): BValue | undefined {
  return Object.hasOwn(dict, key) ? dict[key] : undefined
}
