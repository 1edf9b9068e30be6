/** Turnover while seeding (engine/seeding-turnover.ts): peers with no interest either way, time passed in. */
import { describe, expect, it } from 'vitest'
import { PeerPolicy } from '../../../engine/peer-policy.js'
import { SeedingTurnover } from '../../../engine/seeding-turnover.js'
import type { Peer } from '../../../engine/wire/peer.js'

/** What the turnover reads of a peer: its key and both sides' interest. */
const peer = (key: string): Peer => ({ key, amInterested: false, peerInterested: false }) as unknown as Peer

describe('SeedingTurnover', () => {
  it('turns over only peers with no interest either way for inactiveAfterMs, the longest inactive first', () => {
    const policy = new PeerPolicy({ snubAfterMs: 3000 })
    const turnover = new SeedingTurnover(60_000, 0)
    const served = peer('served')
    const seed = peer('seed')
    const late = peer('late')
    const peers = [served, seed, late]
    policy.connected('served', 0)
    policy.connected('seed', 0)
    policy.connected('late', 30_000)
    policy.requested('seed', 0)
    policy.snubDue(5000, () => 1) // snubbed while it was wanted: nothing to a seeder
    ;(served as { peerInterested: boolean }).peerInterested = true
    turnover.noteInterest(peers, 59_000)
    ;(served as { peerInterested: boolean }).peerInterested = false
    expect(turnover.evictionCandidate(peers, policy, 59_999)).toBeUndefined()
    expect(turnover.evictionCandidate(peers, policy, 60_000)).toBe('seed')
    policy.disconnected('seed')
    expect(turnover.evictionCandidate(peers, policy, 89_999)).toBeUndefined()
    expect(turnover.evictionCandidate(peers, policy, 90_000)).toBe('late')
    ;(late as { amInterested: boolean }).amInterested = true
    expect(turnover.evictionCandidate(peers, policy, 90_000)).toBeUndefined() // told who is interested before it chooses
    ;(late as { amInterested: boolean }).amInterested = false
    expect(turnover.evictionCandidate(peers, policy, 119_000)).toBe('served')
  })

  it('counts a peer connected before it was made as inactive from then, and never picks a peer without a handshake', () => {
    const policy = new PeerPolicy()
    const turnover = new SeedingTurnover(60_000, 100_000)
    const early = peer('early')
    const unshaken = peer('connection-7')
    policy.connected('early', 0)
    expect(turnover.evictionCandidate([early, unshaken], policy, 159_999)).toBeUndefined()
    expect(turnover.evictionCandidate([early, unshaken], policy, 160_000)).toBe('early')
    expect(turnover.evictionCandidate([unshaken], policy, 1_000_000)).toBeUndefined()
  })
})
