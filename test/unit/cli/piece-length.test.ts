import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../engine/errors.js'
import { choosePieceLength, parsePieceLength } from '../../../cli/lib/piece-length.js'

const KiB = 1024
const MiB = 1024 * 1024

describe('choosePieceLength', () => {
  it('uses one 16 KiB block per piece for small sites', () => {
    expect(choosePieceLength(1)).toBe(16 * KiB)
    expect(choosePieceLength(200_000)).toBe(16 * KiB)
    expect(choosePieceLength(16 * KiB * 1000)).toBe(16 * KiB)
  })

  it('grows in powers of two to keep about 1000 pieces', () => {
    expect(choosePieceLength(16 * KiB * 1000 + 1)).toBe(32 * KiB)
    expect(choosePieceLength(50_000_000)).toBe(64 * KiB)
    expect(choosePieceLength(200_000_000)).toBe(256 * KiB)
    for (const size of [1e5, 3e6, 4e7, 5e8]) {
      const length = choosePieceLength(size)
      expect(Math.ceil(size / length)).toBeLessThanOrEqual(1000)
      expect(length & (length - 1)).toBe(0)
    }
  })

  it('never exceeds 1 MiB', () => {
    expect(choosePieceLength(1e9)).toBe(MiB)
    expect(choosePieceLength(50e9)).toBe(MiB)
  })
})

describe('parsePieceLength', () => {
  it.each([
    ['16384', 16 * KiB],
    ['64KiB', 64 * KiB],
    ['64k', 64 * KiB],
    ['64 kb', 64 * KiB],
    ['1MB', MiB],
    ['1MiB', MiB],
    ['2m', 2 * MiB],
    [32768, 32 * KiB]
  ])('reads %s', (input, expected) => {
    expect(parsePieceLength(input)).toBe(expected)
  })

  it.each(['', 'abc', '64XB', '-16384', '1.5MiB', '8KiB', '48KiB', '100000', '32MiB'])('refuses %j', (input) => {
    expect(() => parsePieceLength(input)).toThrow(UsageError)
    expect(() => parsePieceLength(input)).toThrow(/--piece-length/)
  })
})
