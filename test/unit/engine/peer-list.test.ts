/** Peer management over the in-memory transport: turnover when full, bans that hold against the remote. */
import { describe, expect, it } from 'vitest'
import { MAX_FIXED_MESSAGE_LENGTH, peerTurnoverSlack } from '../../../engine/constants.js'
import { PeerList } from '../../../engine/peer-list.js'
import { PeerPolicy } from '../../../engine/peer-policy.js'
import type { Connection, RemoteIdentity } from '../../../engine/transport/index.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import { randomBytes, toHex } from '../../../engine/util/bytes.js'
import { encodeHandshake } from '../../../engine/wire/codec.js'
import type { Peer } from '../../../engine/wire/peer.js'

const infoHash = randomBytes(20)
const ownId = randomBytes(20)

function list (maxPeers: number, wanting = true): { peers: PeerList, policy: PeerPolicy, warnings: string[], bans: string[] } {
  const policy = new PeerPolicy({ snubAfterMs: 3000, uselessAfterMs: 10_000, maxBadPieces: 2 })
  const warnings: string[] = []
  const bans: string[] = []
  const peers = new PeerList({
    maxPeers, ownId: toHex(ownId), peerPolicy: policy, wanting: () => wanting,
    warn: (_peer, err) => warnings.push(err.message),
    onBan: (id) => bans.push(id)
  })
  return { peers, policy, warnings, bans }
}

/** A connection whose remote has `identity`; returns our end and a function that makes the remote handshake. */
function connection (identity?: RemoteIdentity): { ours: Connection, handshake: (id: Uint8Array) => Promise<void> } {
  const [ours, theirs] = memoryConnectionPair()
  if (identity !== undefined) Object.defineProperty(ours, 'identity', { value: identity })
  return {
    ours,
    handshake: async (id) => {
      theirs.send(encodeHandshake({ infoHash, peerId: id }))
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
}

async function admitted (peers: PeerList, id: Uint8Array, now: number, identity?: RemoteIdentity): Promise<Peer | undefined> {
  const { ours, handshake } = connection(identity)
  const peer = peers.admit(ours, { infoHash, peerId: ownId, maxMessageLength: MAX_FIXED_MESSAGE_LENGTH }, now)
  if (peer === undefined) return undefined
  peer.on('handshake', () => { if (!peers.onHandshake(peer, now)) peers.remove(peer) })
  peer.on('close', () => peers.remove(peer))
  await handshake(id)
  return peer
}

describe('PeerList', () => {
  it('takes a newcomer beyond the cap (slack), turns the useless peers over, and refuses when nobody is useless', async () => {
    const { peers, policy } = list(2)
    const slack = peerTurnoverSlack(2)
    const silent: Peer[] = []
    for (let i = 0; i < 2 + slack; i++) silent.push((await admitted(peers, randomBytes(20), 0))!)
    expect(peers.size).toBe(2 + slack)
    expect(peers.wantsPeer(toHex(randomBytes(20)), 1000)).toBe(false)
    expect(await admitted(peers, randomBytes(20), 1000)).toBeUndefined()
    // They are asked for blocks and never answer: snubbed, then useless.
    for (const p of silent) policy.requested(p.key, 1000)
    policy.snubDue(4000, () => 1)
    expect(peers.wantsPeer(toHex(randomBytes(20)), 4000)).toBe(true)
    const honest = await admitted(peers, randomBytes(20), 4000)
    expect(honest?.destroyed).toBe(false)
    // tick() brings the list back to its cap, keeping the newcomer.
    peers.tick(4000)
    expect(peers.size).toBe(2)
    expect([...peers.all]).toContain(honest)
  })

  it('while seeding, keeps the peers it serves and takes no one beyond the cap', async () => {
    const { peers, policy } = list(1, false)
    const p = (await admitted(peers, randomBytes(20), 0))!
    policy.requested(p.key, 0)
    policy.snubDue(60_000, () => 1)
    expect(peers.wantsPeer(toHex(randomBytes(20)), 60_000)).toBe(false)
  })

  it('a banned peer that comes back under a new peer id with the same certificate is refused', async () => {
    const { peers, warnings, bans } = list(10)
    const remote = { address: '10.77.0.1', fingerprint: 'sha-256 AA:BB' }
    const bad = (await admitted(peers, randomBytes(20), 0, remote))!
    peers.ban(bad.key, new Error('bad data'))
    expect(bans).toEqual([bad.key])
    expect(bad.destroyed).toBe(true)
    expect(peers.wantsPeer(bad.key)).toBe(false)
    const again = (await admitted(peers, randomBytes(20), 0, { ...remote }))!
    expect(again.destroyed).toBe(true)
    expect(warnings.some((w) => /same remote/.test(w))).toBe(true)
  })

  it('a peer at a banned address with a new certificate is taken, one strike short of a ban', async () => {
    const { peers, policy } = list(10)
    const bad = (await admitted(peers, randomBytes(20), 0, { address: '10.77.0.1', fingerprint: 'sha-256 AA' }))!
    peers.ban(bad.key, new Error('bad data'))
    const neighbour = (await admitted(peers, randomBytes(20), 0, { address: '10.77.0.1', fingerprint: 'sha-256 CC' }))!
    expect(neighbour.destroyed).toBe(false)
    expect(policy.badPiece(neighbour.key)).toBe(true)
    const elsewhere = (await admitted(peers, randomBytes(20), 0, { address: '10.77.0.9', fingerprint: 'sha-256 DD' }))!
    expect(policy.badPiece(elsewhere.key)).toBe(false)
  })
})
