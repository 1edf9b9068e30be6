/** Peer policy from per-peer records, time passed in: snubbing, turnover candidates, strikes. */
import { describe, expect, it } from 'vitest'
import { PeerPolicy } from '../../../engine/peer-policy.js'

const policy = (): PeerPolicy => new PeerPolicy({ snubAfterMs: 3000, uselessAfterMs: 10_000, maxBadPieces: 2 })

describe('PeerPolicy', () => {
  it('snubs a peer with requests out and no block for snubAfterMs, and lifts it when a block arrives', () => {
    const p = policy()
    p.connected('a', 0)
    p.connected('b', 0)
    p.requested('a', 1000)
    p.requested('b', 1000)
    const out = (key: string): number => (key === 'a' || key === 'b' ? 10 : 0)
    expect(p.snubDue(3999, out)).toEqual([])
    p.delivered('b', 16384, 3500, 9) // b delivers: its wait starts again
    expect(p.snubDue(4000, out)).toEqual(['a'])
    expect(p.get('a')?.snubbed).toBe(true)
    expect(p.snubDue(10_000, out)).toEqual(['b'])
    expect(p.delivered('a', 16384, 11_000, 0)).toBe(true) // un-snubbed
    expect(p.get('a')?.snubbed).toBe(false)
  })

  it('never snubs a peer that has nothing outstanding', () => {
    const p = policy()
    p.connected('a', 0)
    p.requested('a', 0)
    p.idle('a')
    expect(p.snubDue(60_000, () => 5)).toEqual([])
    p.requested('a', 0)
    expect(p.snubDue(60_000, () => 0)).toEqual([])
  })

  it('turns over snubbed peers first, then peers useless for uselessAfterMs', () => {
    const p = policy()
    p.connected('honest', 0)
    p.delivered('honest', 1 << 20, 500, 0)
    p.connected('choking', 0) // never gets requests: never snubbed
    p.connected('silent', 0)
    p.requested('silent', 0)
    expect(p.evictionCandidate(5000)).toBeUndefined()
    p.snubDue(5000, (k) => (k === 'silent' ? 1 : 0))
    expect(p.evictionCandidate(5000)).toBe('silent')
    p.disconnected('silent')
    expect(p.evictionCandidate(9999)).toBeUndefined()
    expect(p.evictionCandidate(10_000)).toBe('choking')
    // The honest peer delivered 10 s ago too, but more than the choking one: the choking one goes first.
    expect(p.evictionCandidate(10_500)).toBe('choking')
  })

  it('bans at maxBadPieces proven bad pieces; a reconnecting id keeps its strikes, a banned remote starts one short', () => {
    const p = policy()
    p.connected('x', 0)
    expect(p.badPiece('x')).toBe(false)
    p.disconnected('x')
    p.connected('x', 1000)
    expect(p.badPiece('x')).toBe(true)
    p.connected('y', 0, { address: '10.0.0.1' }, Number.MAX_SAFE_INTEGER)
    expect(p.badPiece('y')).toBe(true)
  })

  it('strikes stay with the remote: an id taken by a provably other remote starts afresh, an unknown one does not', () => {
    const p = policy()
    p.connected('origin', 0, { address: '10.0.0.66', fingerprint: 'sha-256 66' })
    expect(p.badPiece('origin')).toBe(false)
    p.disconnected('origin')
    p.connected('origin', 1000, { fingerprint: 'sha-256 66' }) // the same certificate
    expect(p.get('origin')?.badPieces).toBe(1)
    p.disconnected('origin')
    p.connected('origin', 2000) // nothing to tell it apart by
    expect(p.get('origin')?.badPieces).toBe(1)
    p.disconnected('origin')
    p.connected('origin', 3000, { address: '10.0.0.1', fingerprint: 'sha-256 0A' })
    expect(p.get('origin')?.badPieces).toBe(0)
    expect(p.badPiece('origin')).toBe(false)
  })
})
