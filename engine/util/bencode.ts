/**
 * Bencoding (BEP 3), written for hostile input: one iterative pass checks the grammar and builds the value, so a
 * peer's bytes can neither blow the stack nor slip a malformed value past us, and decoding throws nothing but
 * BencodeError (a warning for the caller, never a crash). Dictionaries decode to null-prototype objects, so a key
 * such as `__proto__` is an ordinary key. The `bencode` npm package is kept only as the tests' reference oracle.
 */
import { CHECK_ARGS } from '../constants.js'
import { concatBytes, toHex, utf8 } from './bytes.js'

export type BValue = number | Uint8Array | BValue[] | { [key: string]: BValue }

export class BencodeError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BencodeError'
  }
}

/**
 * Encodes numbers (integers; booleans as 0/1), strings (UTF-8), byte arrays, arrays and plain objects (keys sorted as
 * raw byte strings, BEP 3: "Keys must be strings and appear in sorted order (sorted as raw strings, not
 * alphanumerics)"). Null and undefined entries are left out. Anything else is API misuse and throws TypeError.
 */
export function bencode (value: unknown): Uint8Array {
  const out: Uint8Array[] = []
  const ascii = (s: string): void => { out.push(utf8.encode(s)) }
  const str = (b: Uint8Array): void => {
    ascii(`${b.length}:`)
    out.push(b)
  }
  const walk = (v: unknown): void => {
    if (v == null) return
    if (typeof v === 'boolean') v = +v
    if (typeof v === 'number') {
      if (CHECK_ARGS && !Number.isInteger(v)) throw new TypeError(`bencode: ${v} is not an integer`)
      ascii(`i${BigInt(v)}e`) // BigInt: 1e21 is written out in digits
    } else if (typeof v === 'string') {
      str(utf8.encode(v))
    } else if (ArrayBuffer.isView(v)) {
      str(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
    } else if (Array.isArray(v)) {
      ascii('l')
      v.forEach(walk)
      ascii('e')
    } else if (typeof v === 'object') {
      ascii('d')
      const entries = Object.entries(v as object)
        .filter(([, x]) => x != null)
        .map(([k, x]): [Uint8Array, unknown] => [utf8.encode(k), x])
        .sort(([a], [b]) => compareBytes(a, b))
      for (const [k, x] of entries) {
        str(k)
        walk(x)
      }
      ascii('e')
    } else if (CHECK_ARGS) {
      throw new TypeError(`bencode: cannot encode a ${typeof v}`)
    }
  }
  walk(value)
  return concatBytes(out)
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

/** Decodes one bencoded value that must fill `bytes` exactly. */
export function bdecode (bytes: Uint8Array): BValue {
  const { value, length } = bdecodePrefix(bytes)
  if (length !== bytes.length) throw new BencodeError(`trailing bytes after bencoded value (${bytes.length - length})`)
  return value
}

/** Decodes the bencoded value at the start of `bytes` and says how many bytes it used (BEP 9 data messages append raw bytes). */
export function bdecodePrefix (bytes: Uint8Array, maxDepth = MAX_BENCODE_DEPTH): { value: BValue, length: number } {
  return scan(bytes, maxDepth, true) as { value: BValue, length: number }
}

/**
 * The byte length of the one bencoded value at the start of `bytes`, after checking its grammar, without building
 * the value. Throws BencodeError.
 */
export function bencodedLength (bytes: Uint8Array, maxDepth = MAX_BENCODE_DEPTH): number {
  return scan(bytes, maxDepth, false).length
}

const CH_D = 0x64 // 'd'
const CH_L = 0x6c // 'l'
const CH_I = 0x69 // 'i'
const CH_E = 0x65 // 'e'
const CH_COLON = 0x3a
const CH_MINUS = 0x2d
/** Nesting deeper than this is refused: nothing we read nests more than a few levels. */
export const MAX_BENCODE_DEPTH = 64

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39

/** An open container: a list, or a dictionary with the key whose value comes next (undefined: a key comes next). */
interface Open { list?: BValue[], dict?: { [key: string]: BValue }, key?: string | undefined }

/**
 * BEP 3's grammar: strings are "length-prefixed base ten followed by a colon", integers "an 'i' followed by a number
 * in base 10 followed by an 'e'", lists and dictionaries end with 'e', dictionary keys "must be strings". Builds the
 * value only when `build` is set (lengths alone are wanted by rawDictValue, over the big `pieces` string).
 */
function scan (bytes: Uint8Array, maxDepth: number, build: boolean): { value?: BValue, length: number } {
  const stack: Open[] = []
  let pos = 0
  for (;;) {
    const c = bytes[pos]
    if (c === undefined) throw malformed(pos)
    const top = stack[stack.length - 1]
    const wantKey = top?.dict !== undefined && top.key === undefined
    let value: BValue | undefined
    if (c === CH_E) {
      if (top === undefined || (top.dict !== undefined && !wantKey)) throw malformed(pos)
      stack.pop()
      pos++
      value = top.list ?? top.dict
    } else if (wantKey && !isDigit(c)) {
      throw malformed(pos)
    } else if (c === CH_D || c === CH_L) {
      if (stack.length >= maxDepth) throw malformed(pos)
      stack.push(c === CH_L ? { list: [] } : { dict: Object.create(null) as { [key: string]: BValue } })
      pos++
      continue // the container is a finished value only at its 'e'
    } else if (c === CH_I) {
      let p = pos + 1
      const negative = bytes[p] === CH_MINUS
      if (negative) p++
      const digitsStart = p
      let n = 0
      while (isDigit(bytes[p])) n = n * 10 + (bytes[p++]! - 0x30)
      if (p === digitsStart || p - digitsStart > 16 || bytes[p] !== CH_E) throw malformed(pos)
      value = negative ? -n : n
      pos = p + 1
    } else if (isDigit(c)) {
      let p = pos
      let n = 0
      while (isDigit(bytes[p])) n = n * 10 + (bytes[p++]! - 0x30)
      if (p - pos > 15 || bytes[p] !== CH_COLON) throw malformed(pos)
      if (p + 1 + n > bytes.length) throw malformed(pos)
      // A copy: the value must not pin (or alias) the caller's buffer, which may be a whole metadata message.
      if (build) value = bytes.slice(p + 1, p + 1 + n)
      pos = p + 1 + n
    } else {
      throw malformed(pos)
    }
    // A scalar or a closed container just ended.
    const parent = stack[stack.length - 1]
    if (parent === undefined) return { value, length: pos }
    if (!build) {
      if (parent.dict !== undefined) parent.key = parent.key === undefined ? '' : undefined
    } else if (parent.list !== undefined) {
      parent.list.push(value!)
    } else if (parent.key === undefined) {
      // A key that is not UTF-8 becomes its hex, as the `bencode` package did: distinct keys stay distinct.
      const key = utf8.decode(value as Uint8Array)
      parent.key = key.includes('\uFFFD') ? toHex(value as Uint8Array) : key
    } else {
      parent.dict![parent.key] = value!
      parent.key = undefined
    }
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
  const want = utf8.encode(key)
  let pos = 1
  while (bytes[pos] !== CH_E) {
    // The grammar check above guarantees a string key here, then one value.
    const keyEnd = pos + bencodedLength(bytes.subarray(pos))
    const colon = bytes.indexOf(CH_COLON, pos)
    const keyBytes = bytes.subarray(colon + 1, keyEnd)
    const valueEnd = keyEnd + bencodedLength(bytes.subarray(keyEnd))
    if (compareBytes(keyBytes, want) === 0) return bytes.subarray(keyEnd, valueEnd)
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

const malformed = (pos: number): BencodeError => new BencodeError(`malformed bencoding at byte ${pos}`)
