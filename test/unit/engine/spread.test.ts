/**
 * engine/spread.ts: the publisher's seeder holds back a request for a piece another peer holds while the requester
 * keeps getting pieces from others, and serves it once the requester is starved (holdMs) or has waited maxHoldMs.
 */
import { describe, expect, it } from 'vitest'
import { Spread } from '../../../engine/spread.js'

const make = (): Spread<string> => new Spread<string>({ holdMs: 2000, maxHoldMs: 10_000, newcomerPieces: 0, patienceMs: 60_000 })

describe('Spread', () => {
  it('serves at once a piece nobody else holds, and holds one we already sent to another peer', () => {
    const s = make()
    expect(s.shouldHold('b', 0, 0, undefined)).toBe(false)
    s.sent('a', 0)
    expect(s.copiesElsewhere('b', 0)).toBe(1)
    expect(s.shouldHold('b', 0, 0, undefined)).toBe(true)
    // The peer we sent it to is not held back for its own copy.
    expect(s.shouldHold('a', 0, 0, undefined)).toBe(false)
  })

  it('counts a piece a peer announced (have) as held by it', () => {
    const s = make()
    s.has('a', 3, 0)
    expect(s.shouldHold('b', 3, 0, undefined)).toBe(true)
  })

  it('serves a held request once the requester has got nothing from others for holdMs', () => {
    const s = make()
    s.sent('a', 0)
    expect(s.shouldHold('b', 0, 1000, 0)).toBe(true)
    expect(s.recheckAt('b', 0, 0, 1000)).toBe(2000)
    expect(s.shouldHold('b', 0, 2000, 0)).toBe(false)
  })

  it('keeps holding while the requester announces pieces it got from other peers, up to maxHoldMs', () => {
    const s = make()
    s.sent('a', 0)
    s.sent('a', 1)
    s.has('b', 1, 1500) // b got piece 1 from a
    expect(s.shouldHold('b', 0, 3000, 0)).toBe(true)
    expect(s.recheckAt('b', 0, 0, 3000)).toBe(3500)
    s.has('b', 2, 9000)
    expect(s.shouldHold('b', 0, 9500, 0)).toBe(true)
    expect(s.shouldHold('b', 0, 10_000, 0)).toBe(false)
  })

  it('does not count pieces we sent the requester ourselves as progress from others', () => {
    const s = make()
    s.sent('a', 0)
    s.sent('b', 5)
    s.has('b', 5, 1500)
    expect(s.shouldHold('b', 0, 2000, 0)).toBe(false)
  })

  it('forgets the copies of a peer that left', () => {
    const s = make()
    s.sent('a', 0)
    s.has('c', 0, 0)
    s.remove('a')
    expect(s.copiesElsewhere('b', 0)).toBe(1)
    s.remove('c')
    expect(s.shouldHold('b', 0, 0, undefined)).toBe(false)
  })

  it('lets a newcomer (fewer than newcomerPieces pieces: its first page) wait newcomerHoldMs only', () => {
    const s = new Spread<string>({ holdMs: 2000, newcomerHoldMs: 500, newcomerPieces: 2 })
    s.sent('a', 0)
    s.sent('a', 1)
    s.sent('a', 2)
    expect(s.shouldHold('b', 0, 0, undefined)).toBe(true)
    expect(s.recheckAt('b', 0, 0, 0)).toBe(500)
    expect(s.shouldHold('b', 0, 500, 0)).toBe(false)
    s.sent('b', 0)
    s.sent('b', 1)
    // Two pieces: no longer a newcomer, the full hold applies.
    expect(s.shouldHold('b', 2, 600, 100)).toBe(true)
    expect(s.shouldHold('b', 2, 2100, 100)).toBe(false)
  })

  it('holds newcomers briefly after a newcomer hold ran out fruitless, and the full time again once a probe pays off', () => {
    const s = new Spread<string>({ holdMs: 2000, newcomerHoldMs: 500, newcomerShortHoldMs: 100, newcomerPieces: 2, newcomerProbeMs: 10_000 })
    for (let i = 0; i < 4; i++) s.sent('a', i)
    // b's links to a are not open: its hold runs out and it gets its first page from us after all.
    expect(s.decide('b', 0, 0, undefined)).toBe('hold')
    expect(s.decide('b', 0, 500, 0)).toBe('newcomer')
    // The next newcomers are not kept waiting 0.5 s for nothing (before: each was, then served anyway), only 0.1 s.
    expect(s.decide('c', 0, 600, undefined)).toBe('hold')
    expect(s.recheckAt('c', 0, 600, 600)).toBe(700)
    expect(s.decide('c', 0, 700, 600)).toBe('newcomer')
    expect(s.decide('d', 1, 9000, undefined)).toBe('hold')
    expect(s.decide('d', 1, 9100, 9000)).toBe('newcomer')
    // newcomerProbeMs after b's hold ran out, one is held the full time again ...
    expect(s.decide('e', 0, 10_600, undefined)).toBe('hold')
    expect(s.decide('e', 0, 10_700, 10_600)).toBe('hold')
    expect(s.decide('e', 0, 11_100, 10_600)).toBe('newcomer')
    expect(s.decide('f', 1, 11_200, undefined)).toBe('hold')
    expect(s.decide('f', 1, 11_300, 11_200)).toBe('newcomer')
    // ... and when one gets the piece from a meanwhile (it cancels, or announces it), holding pays: the full hold.
    expect(s.decide('g', 0, 21_200, undefined)).toBe('hold')
    s.cancelled('g', 0)
    expect(s.decide('h', 1, 21_300, undefined)).toBe('hold')
    expect(s.decide('h', 1, 21_700, 21_300)).toBe('hold')
    expect(s.decide('h', 1, 21_800, 21_300)).toBe('newcomer')
    expect(s.decide('i', 2, 21_900, undefined)).toBe('hold')
    s.has('i', 2, 22_000)
    // A choke (every request dropped) says nothing of where a newcomer got its pieces.
    expect(s.decide('j', 3, 22_000, undefined)).toBe('hold')
    s.cancelled('j')
    expect(s.decide('k', 3, 22_100, undefined)).toBe('hold')
    expect(s.decide('k', 3, 22_400, 22_100)).toBe('hold')
  })

  it('past patienceMs since its first held request, serves a peer the pieces no more than patienceCopies others hold', () => {
    const s = new Spread<string>({ holdMs: 2000, maxHoldMs: 10_000, newcomerPieces: 0, patienceMs: 8000, patienceCopies: 1 })
    for (let i = 0; i < 4; i++) s.sent('a', i)
    s.has('c', 2, 0) // piece 2 has spread to c as well
    expect(s.shouldHold('b', 0, 1000, undefined)).toBe(true)
    s.has('b', 7, 7000) // b gets pieces from others: it would stay held...
    expect(s.shouldHold('b', 1, 7500, undefined)).toBe(true)
    expect(s.recheckAt('b', 1, 7500, 7500)).toBe(9000)
    // ...but the others are too slow for it: from 9000 on, what only one other peer holds is served...
    expect(s.decide('b', 1, 9000, 7500)).toBe('patience')
    expect(s.shouldHold('b', 3, 9000, undefined)).toBe(false)
    // ...while a piece two others hold stays held (b fetches it from them) until its own hold runs out.
    expect(s.shouldHold('b', 2, 9000, 7500)).toBe(true)
    expect(s.recheckAt('b', 2, 7500, 9000)).toBe(9500)
    expect(s.decide('b', 2, 9500, 7500)).toBe('starved')
  })

  it('starts the patience clock at the first held request past the first page, not at the newcomer hold', () => {
    const s = new Spread<string>({ holdMs: 2000, newcomerHoldMs: 500, newcomerPieces: 2, maxHoldMs: 10_000, patienceMs: 8000 })
    for (let i = 0; i < 6; i++) s.sent('a', i)
    // b's first page: held 0.5 s, then served (a newcomer).
    expect(s.shouldHold('b', 0, 0, undefined)).toBe(true)
    expect(s.decide('b', 0, 500, 0)).toBe('newcomer')
    s.sent('b', 0, 'newcomer')
    s.sent('b', 1, 'newcomer')
    // Its background fetch starts 9 s later: held (the clock starts now), not served through patience.
    expect(s.shouldHold('b', 2, 9000, undefined)).toBe(true)
    s.has('b', 5, 10_000)
    expect(s.shouldHold('b', 2, 11_500, 9000)).toBe(true)
    expect(s.decide('b', 3, 17_000, undefined)).toBe('patience')
  })

  it('counts why requests were served', () => {
    const s = new Spread<string>({ holdMs: 2000, newcomerPieces: 0 })
    expect(s.decide('a', 0, 0, undefined)).toBe('only')
    s.sent('a', 0, 'only')
    expect(s.decide('b', 0, 0, undefined)).toBe('hold')
    expect(s.decide('b', 0, 2000, 0)).toBe('starved')
    s.sent('b', 0, 'starved')
    expect(s.stats()).toMatchObject({ served: { only: 1, starved: 1 }, duplicates: 1, held: 1 })
  })

  it('serves a starved requester its rarest held pieces a batch at a time, growing while others send it nothing', () => {
    const s = new Spread<string>({
      holdMs: 2000, maxHoldMs: 60_000, newcomerPieces: 0, patienceMs: 60_000, starvedPieces: 1, starvedBatches: 2, random: () => 0,
      pauseMs: 0 // b and e both waiting in silence after c's news would be a pause (tested below)
    })
    // a got pieces 0-11 from us; c also has 0-3 (two copies elsewhere).
    for (let i = 0; i < 12; i++) s.sent('a', i)
    for (let i = 0; i < 4; i++) s.has('c', i, 0)
    // b and e ask for everything at 0 and get nothing from anyone.
    const got = new Map<string, Set<number>>([['b', new Set()], ['e', new Set()]])
    const asked = new Map<string, Map<number, number>>([['b', new Map()], ['e', new Map()]])
    const ask = (peer: string, now: number): number[] => {
      const out: number[] = []
      for (let i = 0; i < 12; i++) {
        if (got.get(peer)!.has(i)) continue // no longer requested
        if (s.decide(peer, i, now, asked.get(peer)!.get(i)) !== 'hold') {
          s.sent(peer, i, 'starved')
          got.get(peer)!.add(i)
          out.push(i)
        } else if (!asked.get(peer)!.has(i)) asked.get(peer)!.set(i, now)
      }
      return out
    }
    expect(ask('b', 0)).toEqual([])
    expect(ask('e', 0)).toEqual([])
    // Starved at 2000: b gets one of the rarest (only a holds 4-11), e another: they can trade.
    expect(ask('b', 2000)).toEqual([4])
    expect(ask('e', 2000)).toEqual([5])
    // Nothing more before the next holdMs...
    expect(ask('b', 3000)).toEqual([])
    expect(s.recheckAt('b', 0, 0, 3000)).toBe(4000)
    // ...then a batch twice as large (the rarest again), since nothing came from others meanwhile.
    expect(ask('b', 4000)).toEqual([6, 7])
    // News from others (b announces a piece we did not send it) starts the batches small again.
    s.has('b', 0, 4500)
    got.get('b')!.add(0)
    expect(ask('b', 6000)).toEqual([])
    expect(ask('b', 6500)).toEqual([8])
    expect(ask('b', 8500)).toEqual([9, 10])
    // Two batches in a row without news from others: from this starvation on, b is served whatever it asks.
    expect(ask('b', 10_500)).toEqual([1, 2, 3, 5, 11])
    for (const i of [1, 2, 3, 5]) got.get('b')!.delete(i) // hypothetically asked again
    expect(ask('b', 10_500)).toEqual([1, 2, 3, 5])
  })

  it('serves a starved requester a first batch of 8 of its held pieces by default, then 16', () => {
    const s = new Spread<string>({ newcomerPieces: 0, random: () => 0 })
    for (let i = 0; i < 100; i++) s.sent('a', i)
    const held = new Map<number, number>()
    const ask = (now: number): number => {
      let served = 0
      for (let i = 0; i < 100; i++) {
        if (held.get(i) === -1) continue
        if (s.decide('b', i, now, held.get(i)) === 'hold') {
          if (!held.has(i)) held.set(i, now)
        } else {
          s.sent('b', i, 'starved')
          held.set(i, -1)
          served++
        }
      }
      return served
    }
    expect(ask(0)).toBe(0)
    // Starved after holdMs (2.5 s): a small first batch (a visitor whose links to the others open a moment later
    // got 16 before, 0.13 copies of a 2 MB site).
    expect(ask(s.holdMs)).toBe(8)
    expect(ask(2 * s.holdMs)).toBe(16)
  })

  it('leaves a piece one starved peer\'s batch just took to that peer, and serves the other a hold later', () => {
    const s = new Spread<string>({ holdMs: 2000, maxHoldMs: 60_000, newcomerPieces: 0, patienceMs: 60_000, starvedPieces: 1, random: () => 0 })
    for (const i of [7, 8, 9]) s.sent('a', i) // a holds them; b and c cannot reach it
    // b and c each have one request out to us, for the same piece, and get nothing from anyone.
    expect(s.decide('b', 7, 0, undefined)).toBe('hold')
    expect(s.decide('c', 7, 0, undefined)).toBe('hold')
    // Starved together: b's batch takes piece 7; c's holds nothing else, so it waits for b to pass 7 on (before,
    // both got it, neither had news for the other, and their next batches were twice as large: whole copies).
    expect(s.decide('b', 7, 2000, 0)).toBe('starved')
    s.sent('b', 7, 'starved')
    expect(s.decide('c', 7, 2000, 0)).toBe('hold')
    expect(s.recheckAt('c', 7, 0, 2000)).toBe(4000)
    // c asks for more meanwhile. A hold later its batch is one piece again, the rarest: the empty batch was not
    // counted as fruitless (it would have been two).
    expect(s.decide('c', 8, 2000, undefined)).toBe('hold')
    expect(s.decide('c', 9, 2000, undefined)).toBe('hold')
    expect(s.decide('c', 7, 4000, 0)).toBe('hold')
    expect(s.decide('c', 8, 4000, 2000)).toBe('starved')
    expect(s.decide('c', 9, 4000, 2000)).toBe('hold')
    s.sent('c', 8, 'starved')
    // Nothing came from b: piece 7 is no longer reserved for it, and c is not left waiting.
    expect(s.decide('c', 7, 6000, 0)).not.toBe('hold')
  })

  it('takes no one for starved while nobody announces anything (a pause), and restarts the clock when news comes', () => {
    const s = new Spread<string>({ holdMs: 2000, maxHoldMs: 10_000, newcomerPieces: 0, patienceMs: 60_000, pauseMs: 1000, random: () => 0 })
    for (let i = 0; i < 8; i++) s.sent('a', i)
    s.has('c', 20, 0) // visitors pass pieces on: c got piece 20 from another visitor
    expect(s.decide('b', 1, 0, undefined)).toBe('hold')
    expect(s.decide('d', 2, 0, undefined)).toBe('hold')
    // 2 s without a `have` from anyone while b and d both wait: on a loaded machine every visitor's messages stop
    // at once, then come in a burst. b's silence says nothing: no starved batch (before: 'starved').
    expect(s.decide('b', 1, 2000, 0)).toBe('hold')
    expect(s.recheckAt('b', 1, 0, 2000)).toBe(3000)
    // News again at 3500: b's clock starts there. Others keep announcing; b gets nothing: starved at 5500.
    s.has('c', 21, 3500)
    expect(s.stats()).toMatchObject({ pauses: 1, pauseHeld: 1 })
    s.has('c', 22, 4200)
    s.has('d', 23, 5000)
    expect(s.decide('b', 1, 5000, 0)).toBe('hold')
    expect(s.recheckAt('b', 1, 0, 5000)).toBe(5500)
    expect(s.decide('b', 1, 5500, 0)).toBe('starved')
    // A pause does not stretch maxHoldMs.
    expect(s.decide('d', 2, 9000, 0)).toBe('hold')
    expect(s.recheckAt('d', 2, 0, 9000)).toBe(10_000)
    expect(s.decide('d', 2, 10_000, 0)).toBe('max')
  })

  it('does not count a pause in a peer\'s patience', () => {
    const s = new Spread<string>({ holdMs: 2000, maxHoldMs: 60_000, newcomerPieces: 0, patienceMs: 8000, pauseMs: 1000 })
    for (let i = 0; i < 4; i++) s.sent('a', i)
    expect(s.decide('b', 1, 0, undefined)).toBe('hold')
    expect(s.decide('d', 2, 0, undefined)).toBe('hold')
    // b gets pieces from others every 0.5 s, except during a pause from 4000 to 7000.
    const news = (from: number, to: number): void => { for (let t = from; t <= to; t += 500) s.has('b', 100 + t / 500, t) }
    news(0, 4000)
    expect(s.decide('b', 1, 5000, 0)).toBe('hold')
    news(7000, 10_500)
    // Patience would have run out at 8000; the 3 s pause moves it to 11000.
    expect(s.decide('b', 1, 9000, 0)).toBe('hold')
    expect(s.recheckAt('b', 1, 0, 10_500)).toBe(11_000)
    expect(s.decide('b', 1, 11_000, 0)).toBe('patience')
  })

  it('takes a silent swarm for a pause only after peers have passed pieces on, and only while others wait too', () => {
    // Nobody has passed a piece on yet (pieces that peers brought along in their bitfield do not count): b and d
    // may not reach the others at all; they are starved as before.
    const s = new Spread<string>({ holdMs: 2000, maxHoldMs: 10_000, newcomerPieces: 0, patienceMs: 60_000, pauseMs: 1000, random: () => 0 })
    for (let i = 0; i < 8; i++) s.has('a', i, 0, true)
    expect(s.decide('b', 1, 0, undefined)).toBe('hold')
    expect(s.decide('d', 2, 0, undefined)).toBe('hold')
    expect(s.decide('b', 1, 2000, 0)).toBe('starved')
    // Pieces were passed on, then silence, but b alone waits: the others have nothing left to fetch.
    const t = new Spread<string>({ holdMs: 2000, maxHoldMs: 10_000, newcomerPieces: 0, patienceMs: 60_000, pauseMs: 1000, random: () => 0 })
    for (let i = 0; i < 8; i++) t.has('a', i, 0)
    expect(t.decide('b', 1, 0, undefined)).toBe('hold')
    expect(t.decide('b', 1, 2000, 0)).toBe('starved')
  })

  it('holds nothing with holdMs 0', () => {
    const s = new Spread<string>({ holdMs: 0 })
    s.sent('a', 0)
    expect(s.shouldHold('b', 0, 0, undefined)).toBe(false)
  })
})
