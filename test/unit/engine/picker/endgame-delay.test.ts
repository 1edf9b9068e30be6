import { describe, expect, it } from 'vitest'
import { Bitfield } from '../../../../engine/bitfield.js'
import { PiecePicker } from '../../../../engine/picker/index.js'

describe('end game with a delay', () => {
  // One piece of two blocks; both peers have it.
  const make = (): { picker: PiecePicker, has: Bitfield } => {
    const picker = new PiecePicker({ pieceCount: 1, pieceLength: 32768, length: 32768, endgameDelayMs: 1000, seed: 1 })
    const has = Bitfield.fromString('*')
    picker.addPeer('a', has)
    picker.addPeer('b', has)
    return { picker, has }
  }

  it('does not ask a second peer for a block the first has held for less than the delay', () => {
    const { picker, has } = make()
    expect(picker.pick('a', has, 10, 0)).toHaveLength(2)
    expect(picker.pick('b', has, 10, 999)).toEqual([])
  })

  it('asks a second peer once the delay has passed, and cancels the spare copy when one arrives', () => {
    const { picker, has } = make()
    picker.pick('a', has, 10, 0)
    const dup = picker.pick('b', has, 10, 1000)
    expect(dup.map((r) => [r.begin, r.duplicate])).toEqual([[0, true], [16384, true]])
    const { status, cancel } = picker.blockReceived('b', 0, 0, 16384)
    expect(status).toBe('new')
    expect(cancel).toEqual(['a'])
  })
})
