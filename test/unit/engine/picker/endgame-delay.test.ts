import { describe, expect, it } from 'vitest'
import { Bitfield } from '../../../../engine/bitfield.js'
import { bitfieldOf } from '../../../fixtures/bitfield.js'
import { PiecePicker } from '../../../../engine/picker/index.js'

describe('end game with a delay', () => {
  // One piece of two blocks; both peers have it.
  const make = (): { picker: PiecePicker, has: Bitfield } => {
    const picker = new PiecePicker({ pieceCount: 1, pieceLength: 32768, length: 32768, endgameDelayMs: 1000, seed: 1 })
    const has = bitfieldOf('*')
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

describe('urgent pieces (a reader waits for them now)', () => {
  // Four pieces of one block each; both peers have them all; the delay would hold any duplicate back for 1 s.
  const make = (): { picker: PiecePicker, has: Bitfield } => {
    const picker = new PiecePicker({ pieceCount: 4, pieceLength: 16384, length: 4 * 16384, endgameDelayMs: 1000, urgentPriority: 2, seed: 1 })
    const has = bitfieldOf('****')
    picker.addPeer('a', has)
    picker.addPeer('b', has)
    return { picker, has }
  }

  it('are asked of a second peer at once, before its background pieces, and the spare copy is cancelled', () => {
    const { picker, has } = make()
    picker.addPriority(1, 1, 2)
    expect(picker.pick('a', has, 1, 0).map((r) => r.index)).toEqual([1])
    // b: the urgent piece again (a may hold it back: engine/spread.ts), then a fresh background piece.
    const forB = picker.pick('b', has, 2, 10)
    expect(forB[0]).toMatchObject({ index: 1, duplicate: true })
    expect(forB[1]?.index).not.toBe(1)
    expect(picker.blockReceived('b', 1, 0, 16384)).toEqual({ status: 'new', cancel: ['a'] })
  })

  it('below the urgent priority (read-ahead, preload) wait for the end-game delay as before', () => {
    const { picker, has } = make()
    picker.addPriority(0, 3, 1)
    expect(picker.pick('a', has, 4, 0)).toHaveLength(4)
    expect(picker.pick('b', has, 4, 10)).toEqual([])
  })

  it('are not duplicated without the option', () => {
    const picker = new PiecePicker({ pieceCount: 4, pieceLength: 16384, length: 4 * 16384, endgameDelayMs: 1000, seed: 1 })
    const has = bitfieldOf('****')
    picker.addPeer('a', has)
    picker.addPeer('b', has)
    picker.addPriority(1, 1, 2)
    picker.pick('a', has, 1, 0)
    expect(picker.pick('b', has, 4, 10).map((r) => r.index)).not.toContain(1)
  })
})
