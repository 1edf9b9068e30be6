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
  let value: unknown
  try {
    value = bencodeLib.decode(bytes)
  } catch (err) {
    throw new BencodeError(`malformed bencoding: ${(err as Error).message}`, { cause: err })
  }
  const length = (bencodeLib.decode as unknown as { position: number }).position
  if (value === null || value === undefined) throw new BencodeError('malformed bencoding')
  return { value: value as BValue, length }
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
