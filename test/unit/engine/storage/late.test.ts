/**
 * LateStore (a first visit's store: pieces in memory until the IndexedDB store's code has loaded): what was put
 * before attachStore() moves to the attached store, what comes after goes there directly, and a piece the attached store
 * refuses stays readable from memory.
 */
import { describe, expect, it } from 'vitest'
import { StorageError } from '../../../../engine/errors.js'
import { LateStore } from '../../../../engine/storage/late.js'
import { attachStore } from '../../../../engine/storage/late-attach.js'
import { MemoryStore } from '../../../../engine/storage/memory.js'
import { LAYOUT, content, pieceOf } from './store-suite.js'

const data = content(LAYOUT.length)
const piece = (index: number): Uint8Array => pieceOf(data, LAYOUT, index)

describe('LateStore', () => {
  it('moves the pieces put before attach() to the attached store, and puts there afterwards', async () => {
    const late = new LateStore(LAYOUT)
    await late.put(0, piece(0))
    await late.put(2, piece(2))
    const target = new MemoryStore(LAYOUT)
    expect(late.attached).toBe(false)
    await attachStore(late, target)
    expect(late.attached).toBe(true)
    expect([0, 1, 2].map((i) => target.has(i))).toEqual([true, false, true])
    await late.put(1, piece(1))
    expect(target.has(1)).toBe(true)
    for (const i of [0, 1, 2]) expect(await late.get(i)).toEqual(piece(i))
    await late.delete(2)
    expect(target.has(2)).toBe(false)
    expect((await late.get(2).catch((e: unknown) => e) as StorageError).code).toBe('ERR_NOT_FOUND')
  })

  it('keeps in memory, readable, a piece the attached store refuses', async () => {
    const late = new LateStore(LAYOUT)
    await late.put(0, piece(0))
    await late.put(1, piece(1))
    // Room for one piece only.
    const target = new MemoryStore({ ...LAYOUT, maxBytes: piece(0).length })
    await attachStore(late, target)
    expect(target.has(0)).toBe(true)
    expect(target.has(1)).toBe(false)
    expect(await late.get(1)).toEqual(piece(1))
  })

  it('keeps the whole visit within maxBytes when puts arrive while attach() is moving pieces', async () => {
    // Room for two pieces in all. Before attach: two pieces in memory (full). The attached store has the same
    // budget; while the pieces move, two more puts come (the download goes on). Before the fix those took the
    // attached store's room, the two waiting pieces could not move and stayed in memory: four pieces held.
    const budget = 2 * LAYOUT.pieceLength
    const late = new LateStore({ ...LAYOUT, maxBytes: budget })
    await late.put(0, piece(0))
    await late.put(1, piece(1))
    const target = new MemoryStore({ ...LAYOUT, maxBytes: budget })
    const attaching = attachStore(late, target)
    const puts = await Promise.allSettled([late.put(2, piece(2)), late.put(3, piece(3))])
    await attaching
    const held = (await Promise.all([0, 1, 2, 3].map(async (i) => await late.get(i).then(() => i, () => undefined)))).filter((i) => i !== undefined)
    expect(held.length * LAYOUT.pieceLength).toBeLessThanOrEqual(budget)
    // What was refused was refused as over the budget, and what was taken stays readable.
    for (const p of puts) if (p.status === 'rejected') expect((p.reason as StorageError).code).toBe('ERR_QUOTA')
    expect(held).toEqual([0, 1, 2, 3].filter((i) => i < 2 || puts[i - 2]?.status === 'fulfilled'))
  })

  it('closes a store attached after close(), and refuses a second or a differently laid out one', async () => {
    const other = new LateStore(LAYOUT)
    await expect(attachStore(other, new MemoryStore({ ...LAYOUT, length: LAYOUT.length + 1 }))).rejects.toThrow(StorageError)
    await attachStore(other, new MemoryStore(LAYOUT))
    await expect(attachStore(other, new MemoryStore(LAYOUT))).rejects.toThrow(StorageError)

    const late = new LateStore(LAYOUT)
    await late.close()
    const target = new MemoryStore(LAYOUT)
    await attachStore(late, target)
    expect((await target.put(0, piece(0)).catch((e: unknown) => e) as StorageError).code).toBe('ERR_CLOSED')
  })
})
