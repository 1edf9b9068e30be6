import { CHECK_ARGS } from './constants.js'

/**
 * A fixed-size set of piece indices, stored as BEP 3 lays out the bitfield message: "The high bit in the first
 * byte corresponds to piece index 0. Bits that are cleared indicated a missing piece, and set bits indicate a valid
 * and available piece. Spare bits at the end are set to zero."
 */
export class Bitfield {
  readonly length: number
  readonly bytes: Uint8Array
  #count = 0

  constructor (length: number, bytes?: Uint8Array) {
    if (CHECK_ARGS && (!Number.isSafeInteger(length) || length < 0)) throw new RangeError(`invalid bitfield length ${length}`)
    this.length = length
    this.bytes = new Uint8Array(Math.ceil(length / 8))
    if (bytes !== undefined) {
      this.bytes.set(bytes.subarray(0, this.bytes.length))
      // Spare bits must be zero; clear them rather than trust the peer.
      const spare = this.bytes.length * 8 - length
      if (spare > 0 && this.bytes.length > 0) this.bytes[this.bytes.length - 1]! &= (0xff << spare) & 0xff
      for (const b of this.bytes) this.#count += popcount(b)
    }
  }

  /** A bitfield message's payload has exactly ceil(length/8) bytes and zero spare bits. */
  static isValidPayload (length: number, payload: Uint8Array): boolean {
    if (payload.length !== Math.ceil(length / 8)) return false
    const spare = payload.length * 8 - length
    if (spare === 0 || payload.length === 0) return true
    return (payload[payload.length - 1]! & ((1 << spare) - 1)) === 0
  }

  get count (): number { return this.#count }
  get complete (): boolean { return this.#count === this.length }

  has (index: number): boolean {
    if (index < 0 || index >= this.length) return false
    return (this.bytes[index >> 3]! & (0x80 >> (index & 7))) !== 0
  }

  set (index: number, value = true): void {
    if (index < 0 || index >= this.length || !Number.isInteger(index)) throw new RangeError(`piece index ${index} out of range`)
    const mask = 0x80 >> (index & 7)
    const byte = this.bytes[index >> 3]!
    const had = (byte & mask) !== 0
    if (value && !had) {
      this.bytes[index >> 3] = byte | mask
      this.#count++
    } else if (!value && had) {
      this.bytes[index >> 3] = byte & ~mask
      this.#count--
    }
  }

  clone (): Bitfield { return new Bitfield(this.length, this.bytes) }
}

/**
 * A bitfield with every piece: a seed's (the CLI and the tests; a function rather than a static method, so that the
 * browser bundles, which never start as seeds, leave it out).
 */
export function fullBitfield (length: number): Bitfield {
  const b = new Bitfield(length)
  for (let i = 0; i < length; i++) b.set(i)
  return b
}

function popcount (b: number): number {
  let n = 0
  while (b !== 0) { b &= b - 1; n++ }
  return n
}
