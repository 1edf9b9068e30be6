import { describe, expect, it } from 'vitest'
import { Bitfield } from '../../../engine/bitfield.js'
import { bitfieldOf } from '../../fixtures/bitfield.js'
import { Choker, newcomerTest, othersCanServe, type ChokeDecision, type ChokerInit } from '../../../engine/choker.js'
import type { Peer } from '../../../engine/wire/peer.js'
import { mulberry32 } from '../../../engine/util/random.js'

const S = 1000

/** A choker with peers named by letters, all connected at t=0. `interested` lists who said `interested`. */
function setup (peers: string, init: ChokerInit<string> = {}, connectedAt = 0): Choker<string> {
  const rand = mulberry32(7)
  const c = new Choker<string>({ random: () => rand() / 2 ** 32, ...init })
  for (const p of peers) c.add(p, connectedAt)
  return c
}

/** Decisions as a readable string: "+A" unchoke A, "-B" choke B. */
function show (decisions: Array<ChokeDecision<string>>): string {
  return decisions.map((d) => `${d.choke ? '-' : '+'}${d.peer}`).join(' ')
}

/** Who holds a slot: "AB.D" style, one char per peer in `peers` (letter = unchoked, '.' = choked). */
function slots (c: Choker<string>, peers: string): string {
  return [...peers].map((p) => (c.isUnchoked(p) ? p : '.')).join('')
}

/** Feeds each peer `bytesPerSecond[i]` for `seconds` of transfer, in the given direction. */
function transfer (c: Choker<string>, dir: 'up' | 'down', rates: Record<string, number>, seconds = 10): void {
  for (const [p, rate] of Object.entries(rates)) {
    if (dir === 'up') c.uploaded(p, rate * seconds)
    else c.downloaded(p, rate * seconds)
  }
}

describe('Choker', () => {
  it('fills free slots at once as peers become interested: four regular slots, then the optimistic one', () => {
    const c = setup('ABCDEFG')
    expect(show(c.interested('A', 0))).toBe('+A')
    expect(show(c.interested('B', 0))).toBe('+B')
    c.interested('C', 0)
    c.interested('D', 0)
    expect(show(c.interested('E', 0))).toBe('+E') // the optimistic slot
    expect(c.info('E')?.slot).toBe('optimistic')
    expect(show(c.interested('F', 0))).toBe('') // no slot left: waits
    expect(slots(c, 'ABCDEFG')).toBe('ABCDE..')
  })

  it('gives a freed slot to the longest waiting peer when a holder leaves or loses interest', () => {
    const c = setup('ABCDEFG')
    for (const p of 'ABCDEFG') c.interested(p, 0)
    expect(show(c.notInterested('B', 1 * S))).toBe('-B +F')
    expect(show(c.remove('A', 2 * S))).toBe('+G')
    expect(slots(c, 'ABCDEFG')).toBe('..CDEFG')
    expect(show(c.remove('F', 3 * S))).toBe('') // nobody waits
  })

  it('ignores repeated or unknown interest messages', () => {
    const c = setup('AB', { slots: 1, optimisticSlots: 0 })
    expect(show(c.interested('A', 0))).toBe('+A')
    expect(show(c.interested('A', 0))).toBe('')
    expect(show(c.interested('Z', 0))).toBe('')
    expect(show(c.notInterested('B', 0))).toBe('')
  })

  it('while downloading, unchokes the four peers that upload to us fastest (tit-for-tat), every 10 s', () => {
    const c = setup('ABCDEF', { optimisticSlots: 0 })
    for (const p of 'ABCDEF') c.interested(p, 0)
    expect(slots(c, 'ABCDEF')).toBe('ABCD..')
    // E and F upload to us while choked; B and C give nothing.
    expect(show(c.tick(0))).toBe('') // the first tick recalculates at once: nobody has sent anything yet
    transfer(c, 'down', { A: 500, B: 0, C: 0, D: 300, E: 900, F: 800 })
    expect(show(c.tick(5 * S))).toBe('') // not due yet
    expect(show(c.tick(10 * S))).toBe('-B -C +E +F')
    expect(slots(c, 'ABCDEF')).toBe('A..DEF')
    transfer(c, 'down', { A: 500, B: 10, C: 400, D: 300, E: 900, F: 800 })
    expect(show(c.tick(19 * S))).toBe('') // within 10 s of the last recalculation
    expect(show(c.tick(20 * S))).toBe('-D +C')
    expect(c.info('C')?.downloadRate).toBe(400)
  })

  it('while seeding, ranks by upload rate, but rotates a slot holder out after its turn while others wait', () => {
    const c = setup('ABCDEF', { optimisticSlots: 0 })
    c.setSeeding(true)
    c.rechoke(0)
    for (const p of 'ABCDEF') c.interested(p, 0)
    expect(slots(c, 'ABCDEF')).toBe('ABCD..')
    // A is greedy and fast; it never loses interest.
    transfer(c, 'up', { A: 5000, B: 100, C: 100, D: 100 })
    expect(show(c.rechoke(10 * S))).toBe('') // turns not over: holders stay, E and F wait
    transfer(c, 'up', { A: 5000, B: 100, C: 100, D: 100 })
    expect(show(c.rechoke(20 * S))).toBe('')
    transfer(c, 'up', { A: 5000, B: 100, C: 100, D: 100 })
    // 30 s: every turn is over; the two waiting peers go first, then the fastest of the old holders.
    expect(show(c.rechoke(30 * S))).toBe('-C -D +E +F')
    expect(slots(c, 'ABCDEF')).toBe('AB..EF')
    transfer(c, 'up', { A: 5000, B: 100, E: 100, F: 100 })
    // 40 s: A's and B's turns are over and C, D wait longest: everyone gets served in turn.
    expect(show(c.rechoke(40 * S))).toBe('-A -B +C +D')
  })

  it('while seeding, keeps a fast holder when nobody else waits', () => {
    const c = setup('AB', { optimisticSlots: 0, slots: 2 })
    c.setSeeding(true)
    c.interested('A', 0)
    c.interested('B', 0)
    for (let t = 10; t <= 100; t += 10) {
      transfer(c, 'up', { A: 5000, B: 10 })
      expect(show(c.rechoke(t * S))).toBe('')
    }
  })

  it('rotates the optimistic slot every 30 s among peers outside the regular slots', () => {
    const c = setup('ABCDEFGH', { slots: 2 })
    for (const p of 'ABCDEFGH') c.interested(p, 0)
    expect(slots(c, 'ABCDEFGH')).toBe('ABC.....')
    c.rechoke(0)
    const seen = new Set<string>()
    for (let t = 30; t <= 30 * 40; t += 30) {
      c.rechoke(t * S)
      const opt = [...'ABCDEFGH'].filter((p) => c.info(p)?.slot === 'optimistic')
      expect(opt).toHaveLength(1)
      expect(['A', 'B']).not.toContain(opt[0]) // the regular holders keep their slots
      seen.add(opt[0]!)
    }
    expect([...seen].sort().join('')).toBe('CDEFGH')
    // Between rotations the optimistic peer keeps its slot.
    const before = slots(c, 'ABCDEFGH')
    c.rechoke(30 * 40 * S + 10 * S)
    expect(slots(c, 'ABCDEFGH')).toBe(before)
  })

  it('gives a newly connected peer three times the chance of the optimistic slot', () => {
    let newWins = 0
    const rounds = 3000
    const rand = mulberry32(1)
    for (let i = 0; i < rounds; i++) {
      const c = new Choker<string>({ slots: 1, random: () => rand() / 2 ** 32 })
      for (const p of 'ABC') c.add(p, 0)
      c.interested('A', 0) // the regular slot
      c.interested('B', 0) // the optimistic slot
      c.interested('C', 0) // waits
      c.add('N', 100 * S)
      c.interested('N', 100 * S)
      // B's optimistic turn is over: the old peer C (weight 1) against the newcomer N (weight 3).
      c.rechoke(100 * S)
      if (c.info('N')?.slot === 'optimistic') newWins++
      else expect(c.info('C')?.slot).toBe('optimistic')
    }
    expect(newWins / rounds).toBeGreaterThan(0.7)
    expect(newWins / rounds).toBeLessThan(0.8)
  })

  it('computes rates over the time since the last recalculation', () => {
    const c = setup('A')
    c.interested('A', 0)
    c.rechoke(0)
    c.uploaded('A', 20_000)
    c.downloaded('A', 5_000)
    c.rechoke(10 * S)
    expect(c.info('A')).toMatchObject({ uploadRate: 2000, downloadRate: 500 })
    c.rechoke(20 * S)
    expect(c.info('A')).toMatchObject({ uploadRate: 0, downloadRate: 0 })
  })

  it('while seeding, lets a newcomer that other peers can serve wait seedDeferMs before taking a free slot', () => {
    const c = setup('AB', { seedDeferMs: 1500 })
    c.setSeeding(true)
    c.rechoke(0)
    expect(show(c.interested('A', 0, false))).toBe('+A') // nobody else has anything: served at once
    expect(show(c.interested('B', 0, true))).toBe('') // other visitors can serve it: they go first
    expect(show(c.tick(1 * S))).toBe('')
    expect(show(c.tick(1.5 * S))).toBe('+B') // still interested: the next free slot is its own
  })

  it('does not defer while downloading, nor a peer that lost interest meanwhile', () => {
    const c = setup('AB', { seedDeferMs: 1500 })
    expect(show(c.interested('A', 0, true))).toBe('+A') // not seeding: tit-for-tat, no deferral
    c.setSeeding(true)
    c.interested('B', 0, true)
    c.notInterested('B', 1 * S) // got everything from the others
    expect(show(c.tick(2 * S))).toBe('')
  })

  it('othersCanServe: another peer holds a piece this one lacks', () => {
    const bf = (s: string): Bitfield => bitfieldOf(s)
    expect(othersCanServe(bf('**  '), [bf('*   '), bf('    ')])).toBe(false)
    expect(othersCanServe(bf('**  '), [bf('*  *')])).toBe(true)
    expect(othersCanServe(undefined, [bf('*   ')])).toBe(true)
    expect(othersCanServe(undefined, [undefined, bf('    ')])).toBe(false)
  })

  it('while seeding, gives a newcomer that finds every slot taken a slot of its own until it has its first page', () => {
    const newcomers = new Set('FG')
    const c = setup('ABCDEFGH', { newcomer: (p) => newcomers.has(p) })
    c.setSeeding(true)
    for (const p of 'ABCDE') c.interested(p, 0)
    expect(show(c.interested('F', 1 * S))).toBe('+F') // every slot taken: a newcomer's own
    expect(c.info('F')?.slot).toBe('newcomer')
    expect(show(c.interested('G', 1 * S))).toBe('+G')
    expect(show(c.interested('H', 1 * S))).toBe('') // not a newcomer (a return visitor): waits as before
    expect(slots(c, 'ABCDEFGH')).toBe('ABCDEFG.')
    // A recalculation keeps the newcomers' slots while they are newcomers.
    expect(show(c.tick(10 * S))).toBe('')
    expect(slots(c, 'ABCDEFGH')).toBe('ABCDEFG.')
    // F has its first page: no regular slot is free, so it waits like anyone.
    newcomers.delete('F')
    expect(show(c.tick(11 * S))).toBe('-F')
    // A, B and C leave: their slots go to the waiting F and H, and one stays free (G holds its own).
    expect(show([...c.remove('A', 12 * S), ...c.remove('B', 12 * S), ...c.remove('C', 12 * S)]).split(' ').sort().join(' ')).toBe('+F +H')
    // G has its first page: it takes the free slot (it is unchoked already: nothing on the wire).
    newcomers.delete('G')
    expect(show(c.tick(12 * S + 1))).toBe('')
    expect(c.info('G')?.slot).toBe('regular')
  })

  it('gives a newcomer a slot of its own while downloading too, and none without a newcomer test', () => {
    // A visitor still downloading: the others hold its slots (they all want pieces from each other).
    const downloading = setup('ABCDEF', { newcomer: (p, uploaded) => p === 'F' && uploaded < 4 * 16384 })
    for (const p of 'ABCDE') downloading.interested(p, 0)
    expect(show(downloading.interested('F', 0))).toBe('+F')
    // We sent it four pieces' worth: it is a newcomer no more, and waits like anyone.
    downloading.uploaded('F', 4 * 16384)
    expect(show(downloading.tick(1 * S))).toBe('-F')
    const plain = setup('ABCDEF')
    plain.setSeeding(true)
    for (const p of 'ABCDE') plain.interested(p, 0)
    expect(show(plain.interested('F', 0))).toBe('')
  })

  it('newcomerTest: the spread policy at the publisher; elsewhere, fewer than 4 pieces announced and sent', () => {
    const peer = (count: number): Peer => ({ has: bitfieldOf('*'.repeat(count).padEnd(10, ' ')) }) as unknown as Peer
    const test = newcomerTest(undefined, () => 1000)
    expect(test(peer(0), 0)).toBe(true)
    expect(test(peer(3), 3999)).toBe(true)
    expect(test(peer(4), 0)).toBe(false) // announced its first page
    expect(test(peer(0), 4000)).toBe(false) // got four pieces from us and announced none
    expect(test({ has: undefined } as unknown as Peer, 0)).toBe(true)
    expect(newcomerTest(undefined, () => undefined)(peer(0), 0)).toBe(false) // no metainfo yet
    const atOrigin = newcomerTest({ isNewcomer: (p) => p === peer0 }, () => 1000)
    const peer0 = peer(9)
    expect(atOrigin(peer0, 1e9)).toBe(true)
    expect(atOrigin(peer(0), 0)).toBe(false)
  })

  it('with no slots at all, never unchokes', () => {
    const c = setup('AB', { slots: 0, optimisticSlots: 0 })
    expect(show(c.interested('A', 0))).toBe('')
    expect(show(c.rechoke(0))).toBe('')
  })
})
