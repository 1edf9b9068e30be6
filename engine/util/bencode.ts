/**
 * Typed wrapper around the `bencode` package. Decoding never throws anything but ProtocolError-shaped errors to the
 * caller: malformed input from a peer must become a warning, not a crash.
 */
import bencodeLib from 'bencode'

export type BValue = number | Uint8Array | BValue[] | { [key: string]: BValue }

export class BencodeError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BencodeError'
  }
}

export function bencode (value: unknown): Uint8Array {
  return bencodeLib.encode(value) as Uint8Array
}

/** Decodes one bencoded value that must fill `bytes` exactly. */
export function bdecode (bytes: Uint8Array): BValue {
  const { value, length } = bdecodePrefix(bytes)
  if (length !== bytes.length) throw new BencodeError(`trailing bytes after bencoded value (${bytes.length - length})`)
  return value
}

/** Decodes the bencoded value at the start of `bytes` and says how many bytes it used (BEP 9 data messages append raw bytes). */
export function bdecodePrefix (bytes: Uint8Array): { value: BValue, length: number } {
  if (bytes.length === 0) throw new BencodeError('empty bencoded value')
  // Validate the structure first: the library trusts its input (a negative string length such as `d1:a-3:xxe`
  // moves its cursor backwards and loops forever; `5:ab` silently yields a short string), and a peer controls it.
  const length = bencodedLength(bytes)
  let value: unknown
  try {
    // Only the value's own bytes: the library copies its whole input, which for a BEP 9 data message would be the
    // appended metadata piece too.
    value = bencodeLib.decode(bytes.subarray(0, length))
  } catch (err) {
    throw new BencodeError(`malformed bencoding: ${(err as Error).message}`, { cause: err })
  }
  if (value === null || value === undefined || bencodeLib.decode.position !== length) throw new BencodeError('malformed bencoding')
  return { value: value as BValue, length }
}

const CH_D = 0x64 // 'd'
const CH_L = 0x6c // 'l'
const CH_I = 0x69 // 'i'
const CH_E = 0x65 // 'e'
const CH_COLON = 0x3a
const CH_MINUS = 0x2d
/** Nesting deeper than this is refused: nothing we read nests more than a few levels, and the library recurses. */
export const MAX_BENCODE_DEPTH = 64

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39

/**
 * The byte length of the one bencoded value at the start of `bytes`, after checking its grammar (BEP 3: strings are
 * "length-prefixed base ten followed by a colon", integers "an 'i' followed by a number in base 10 followed by an
 * 'e'", dictionary keys "must be strings"). Iterative, so hostile nesting cannot blow the stack. Throws BencodeError.
 */
export function bencodedLength (bytes: Uint8Array, maxDepth = MAX_BENCODE_DEPTH): number {
  // One entry per open container: 0 = list, 1 = dict awaiting a key, 2 = dict awaiting the value of a key.
  const stack: number[] = []
  let pos = 0
  for (;;) {
    const c = bytes[pos]
    if (c === undefined) throw new BencodeError('truncated bencoded value')
    const top = stack[stack.length - 1]
    if (c === CH_E) {
      if (top === undefined || top === 2) throw new BencodeError(`unexpected 'e' at ${pos}`)
      stack.pop()
      pos++
    } else if (top === 1 && !isDigit(c)) {
      throw new BencodeError(`dictionary key at ${pos} is not a string`)
    } else if (c === CH_D || c === CH_L) {
      if (stack.length >= maxDepth) throw new BencodeError('bencoded value nested too deeply')
      stack.push(c === CH_D ? 1 : 0)
      pos++
      continue // the container is a finished value only at its 'e'
    } else if (c === CH_I) {
      let p = pos + 1
      if (bytes[p] === CH_MINUS) p++
      const digitsStart = p
      while (isDigit(bytes[p])) p++
      if (p === digitsStart || p - digitsStart > 16 || bytes[p] !== CH_E) throw new BencodeError(`malformed integer at ${pos}`)
      pos = p + 1
    } else if (isDigit(c)) {
      let p = pos
      let n = 0
      while (isDigit(bytes[p])) {
        n = n * 10 + (bytes[p]! - 0x30)
        p++
      }
      if (p - pos > 15 || bytes[p] !== CH_COLON) throw new BencodeError(`malformed string length at ${pos}`)
      if (p + 1 + n > bytes.length) throw new BencodeError(`string at ${pos} runs past the end`)
      pos = p + 1 + n
    } else {
      throw new BencodeError(`unexpected byte 0x${c.toString(16)} at ${pos}`)
    }
    // A scalar or a closed container just ended.
    const parent = stack[stack.length - 1]
    if (parent === undefined) return pos
    if (parent !== 0) stack[stack.length - 1] = parent === 1 ? 2 : 1
  }
}

/**
 * The bytes of the value under `key` in the bencoded dictionary `bytes`, exactly as they appear, or undefined when
 * the key is absent. BEP 3: the infohash is the SHA-1 of the info dictionary as found in the .torrent, and another
 * client may have written its keys out of order (or with non-canonical integers): decoding and re-encoding would
 * sort them and give another infohash. Throws BencodeError unless `bytes` is exactly one valid dictionary.
 */
export function rawDictValue (bytes: Uint8Array, key: string): Uint8Array | undefined {
  if (bytes[0] !== CH_D || bencodedLength(bytes) !== bytes.length) throw new BencodeError('not one bencoded dictionary')
  const want = new TextEncoder().encode(key)
  let pos = 1
  while (bytes[pos] !== CH_E) {
    // The grammar check above guarantees a string key here, then one value.
    const keyEnd = pos + bencodedLength(bytes.subarray(pos))
    const colon = bytes.indexOf(CH_COLON, pos)
    const keyBytes = bytes.subarray(colon + 1, keyEnd)
    const valueEnd = keyEnd + bencodedLength(bytes.subarray(keyEnd))
    if (keyBytes.length === want.length && keyBytes.every((b, i) => b === want[i])) return bytes.subarray(keyEnd, valueEnd)
    pos = valueEnd
  }
  return undefined
}

export function isDict (v: BValue | undefined): v is { [key: string]: BValue } {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v)
}

export function isBytes (v: BValue | undefined): v is Uint8Array {
  return v instanceof Uint8Array
}

export function isInt (v: BValue | undefined): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v)
}
