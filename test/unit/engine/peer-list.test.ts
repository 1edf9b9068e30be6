/**
 * Peer management over the in-memory transport: turnover when full, handshake deadline, inactive peers while seeding,
 * bans that hold against the remote.
 */
import { describe, expect, it } from 'vitest'
import { DEAD_LINK_MS, MAX_FIXED_MESSAGE_LENGTH, PEER_HANDSHAKE_TIMEOUT_MS, peerTurnoverSlack, SIMULTANEOUS_OPEN_MS } from '../../../engine/constants.js'
import { PeerList } from '../../../engine/peer-list.js'
import { PeerPolicy } from '../../../engine/peer-policy.js'
import { SeedingTurnover } from '../../../engine/seeding-turnover.js'
import type { Connection, RemoteIdentity } from '../../../engine/transport/index.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import { SimplePeerConnection, type SimplePeerLike } from '../../../engine/transport/simple-peer.js'
import { TcpConnection } from '../../../engine/transport/tcp.js'
import { createOffer, type RTCPeerConnectionConstructor } from '../../../engine/transport/webrtc.js'
import { fromHex, randomBytes, toHex } from '../../../engine/util/bytes.js'
import { encodeHandshake, encodeMessage } from '../../../engine/wire/codec.js'
import type { Peer } from '../../../engine/wire/peer.js'
import { FakePeerConnection } from './discovery/fakes.js'

const infoHash = randomBytes(20)
const ownId = randomBytes(20)

/** A peer list; `seeding`: with the seeding turnover (the serving side's code: Torrent.serve) loaded at time 0. */
function list (maxPeers: number, wanting = true, seeding = !wanting): { peers: PeerList, policy: PeerPolicy, warnings: string[], bans: string[] } {
  const policy = new PeerPolicy({ snubAfterMs: 3000, uselessAfterMs: 10_000, maxBadPieces: 2 })
  const warnings: string[] = []
  const bans: string[] = []
  const peers = new PeerList({
    maxPeers, ownId: toHex(ownId), peerPolicy: policy, wanting: () => wanting,
    warn: (_peer, err) => warnings.push(err.message),
    onBan: (id) => bans.push(id)
  })
  if (seeding) peers.seedingTurnover = new SeedingTurnover(60_000, 0)
  return { peers, policy, warnings, bans }
}

/**
 * A connection whose remote has `identity`; returns our end and a function that makes the remote send these bytes
 * (by default its whole handshake, then `after`).
 */
function connection (identity?: RemoteIdentity, initiator = true): { ours: Connection, handshake: (id: Uint8Array, after?: Uint8Array, length?: number) => Promise<void> } {
  const [ours, theirs] = memoryConnectionPair()
  if (identity !== undefined) Object.defineProperty(ours, 'identity', { value: identity })
  Object.defineProperty(ours, 'initiator', { value: initiator })
  return {
    ours,
    handshake: async (id, after, length) => {
      theirs.send(encodeHandshake({ infoHash, peerId: id }).subarray(0, length))
      if (after !== undefined) theirs.send(after)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
}

interface Remote {
  identity?: RemoteIdentity
  /** Bytes it sends after its handshake. */
  after?: Uint8Array
  /** How much of its handshake it sends (all of it by default). */
  length?: number
  /** Whether we started the connection (default: yes). */
  initiator?: boolean
}

async function admitted (peers: PeerList, id: Uint8Array, now: number, { identity, after, length, initiator }: Remote = {}): Promise<Peer | undefined> {
  const { ours, handshake } = connection(identity, initiator)
  const peer = peers.admit(ours, { infoHash, peerId: ownId, maxMessageLength: MAX_FIXED_MESSAGE_LENGTH }, now)
  if (peer === undefined) return undefined
  peer.on('handshake', () => { if (!peers.onHandshake(peer, now)) peers.remove(peer) })
  peer.on('close', () => peers.remove(peer))
  await handshake(id, after, length)
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
    const p = (await admitted(peers, randomBytes(20), 0, { after: encodeMessage({ type: 'interested' }) }))!
    policy.requested(p.key, 0)
    policy.snubDue(60_000, () => 1)
    expect(peers.wantsPeer(toHex(randomBytes(20)), 60_000)).toBe(false)
    expect(peers.wantsPeer(toHex(randomBytes(20)), 3_600_000)).toBe(false)
  })

  it('while seeding, a peer interested in nothing either way for the inactivity timeout gives its slot to a newcomer', async () => {
    const { peers, warnings } = list(2, false)
    const served = (await admitted(peers, randomBytes(20), 0, { after: encodeMessage({ type: 'interested' }) }))!
    const seed = (await admitted(peers, randomBytes(20), 0))!
    peers.tick(1000)
    expect(peers.wantsPeer(toHex(randomBytes(20)), 59_999)).toBe(false)
    expect(peers.wantsPeer(toHex(randomBytes(20)), 60_000)).toBe(true)
    const newcomer = (await admitted(peers, randomBytes(20), 60_000))!
    expect(seed.destroyed).toBe(true)
    expect(warnings).toContain('useless: its slot goes to a new peer')
    expect(served.destroyed).toBe(false)
    expect(newcomer.destroyed).toBe(false)
    expect(peers.size).toBe(2)
    // The newcomer's grace starts at its handshake; the served peer stays however long.
    expect(peers.wantsPeer(toHex(randomBytes(20)), 119_999)).toBe(false)
  })

  it('while seeding without the seeding turnover (the serving side\'s code not loaded yet), turns no one over', async () => {
    const { peers } = list(1, false, false)
    const seed = (await admitted(peers, randomBytes(20), 0))!
    peers.tick(1000)
    expect(peers.wantsPeer(toHex(randomBytes(20)), 3_600_000)).toBe(false)
    expect(await admitted(peers, randomBytes(20), 3_600_000)).toBeUndefined()
    expect(seed.destroyed).toBe(false)
    // Once it is loaded, the idle peer's minute counts from then.
    peers.seedingTurnover = new SeedingTurnover(60_000, 3_600_000)
    expect(peers.wantsPeer(toHex(randomBytes(20)), 3_659_999)).toBe(false)
    expect(peers.wantsPeer(toHex(randomBytes(20)), 3_660_000)).toBe(true)
  })

  it(`drops a connection without a whole handshake ${PEER_HANDSHAKE_TIMEOUT_MS} ms after it opened, however it trickles`, async () => {
    const { peers, policy, warnings } = list(2)
    const full = 2 + peerTurnoverSlack(2)
    const slow: Peer[] = []
    const honest = (await admitted(peers, randomBytes(20), 0))!
    policy.delivered(honest.key, 16384, 5000, 0) // not useless: only the slow ones may go
    for (let i = 1; i < full; i++) slow.push((await admitted(peers, randomBytes(20), 0, { length: 67 }))!)
    expect(peers.size).toBe(full)
    expect(peers.wantsPeer(toHex(randomBytes(20)), PEER_HANDSHAKE_TIMEOUT_MS - 1)).toBe(false)
    peers.tick(PEER_HANDSHAKE_TIMEOUT_MS) // bytes keep coming (the idle timeout is far): not yet
    expect(slow.some((p) => p.destroyed)).toBe(false)
    peers.tick(PEER_HANDSHAKE_TIMEOUT_MS + 1)
    expect(slow.every((p) => p.destroyed)).toBe(true)
    expect(warnings.filter((w) => w === 'no handshake in time')).toHaveLength(full - 1)
    expect(honest.destroyed).toBe(false)
    expect(peers.size).toBe(1)
  })

  it('refuses a second connection under a connected peer id, unless both came in one simultaneous open', async () => {
    const { peers, warnings } = list(10)
    const id = randomBytes(20)
    // Both ends keep the connection started by the lower peer id: make the newcomer that one, the first not.
    const lower = toHex(ownId) < toHex(id)
    const first = (await admitted(peers, id, 0, { initiator: !lower }))!
    expect(first.destroyed).toBe(false)
    first.lastReceivedAt = 0
    const impostor = (await admitted(peers, id, SIMULTANEOUS_OPEN_MS + 1, { initiator: lower }))!
    expect(impostor.destroyed).toBe(true)
    expect(first.destroyed).toBe(false)
    expect(peers.byKey(toHex(id))).toBe(first)
    expect(warnings).toContain('refused: its peer id is connected already')
    // A simultaneous open: the second handshake within moments of the first.
    const other = randomBytes(20)
    const lowerOther = toHex(ownId) < toHex(other)
    const a = (await admitted(peers, other, 0, { initiator: !lowerOther }))!
    const b = (await admitted(peers, other, SIMULTANEOUS_OPEN_MS, { initiator: lowerOther }))!
    expect(a.destroyed).toBe(true)
    expect(b.destroyed).toBe(false)
    expect(peers.byKey(toHex(other))).toBe(b)
  })

  it(`a connection under the peer id of a link silent for ${DEAD_LINK_MS} ms replaces it (a link that died silently)`, async () => {
    const { peers, warnings } = list(10)
    const id = randomBytes(20)
    // Make the newcomers the connections the simultaneous-open rule would drop: only the silence lets them in.
    const lower = toHex(ownId) < toHex(id)
    const first = (await admitted(peers, id, 0, { initiator: lower }))!
    first.lastReceivedAt = 1000
    // Still live (its keep-alive may be on its way): a remote claiming its id is refused.
    const impostor = (await admitted(peers, id, 1000 + DEAD_LINK_MS, { initiator: !lower }))!
    expect(impostor.destroyed).toBe(true)
    expect(first.destroyed).toBe(false)
    expect(warnings).toContain('refused: its peer id is connected already')
    // Silent past it: the link is dead, the peer back under its own id takes its place.
    const back = (await admitted(peers, id, 1001 + DEAD_LINK_MS, { initiator: !lower }))!
    expect(back.destroyed).toBe(false)
    expect(first.destroyed).toBe(true)
    expect(peers.byKey(toHex(id))).toBe(back)
    expect(peers.size).toBe(1)
  })

  it('a banned peer that comes back under a new peer id with the same certificate is refused', async () => {
    const { peers, warnings, bans } = list(10)
    const remote = { address: '10.77.0.1', fingerprint: 'sha-256 AA:BB' }
    const bad = (await admitted(peers, randomBytes(20), 0, { identity: remote }))!
    peers.ban(bad.key, new Error('bad data'))
    expect(bans).toEqual([bad.key])
    expect(bad.destroyed).toBe(true)
    // Its id is let through discovery (the ban is on a remote, told at the handshake), and refused there.
    expect(peers.wantsPeer(bad.key)).toBe(true)
    const same = (await admitted(peers, fromHex(bad.key), 0, { identity: { ...remote } }))!
    expect(same.destroyed).toBe(true)
    const again = (await admitted(peers, randomBytes(20), 0, { identity: { ...remote } }))!
    expect(again.destroyed).toBe(true)
    expect(warnings.some((w) => /same remote/.test(w))).toBe(true)
  })

  it('a ban under an impersonated peer id does not pass to the peer whose id it was', async () => {
    const { peers, policy, bans } = list(10)
    const origin = randomBytes(20)
    const originRemote = { address: '10.77.0.1', fingerprint: 'sha-256 0A' }
    const impostor = (await admitted(peers, origin, 0, { identity: { address: '10.77.0.66', fingerprint: 'sha-256 66' } }))!
    expect(policy.badPiece(impostor.key)).toBe(false)
    expect(policy.badPiece(impostor.key)).toBe(true)
    peers.ban(impostor.key, new Error('bad data'))
    expect(impostor.destroyed).toBe(true)
    expect(peers.wantsPeer(toHex(origin))).toBe(true)
    const honest = (await admitted(peers, origin, 0, { identity: originRemote }))!
    expect(honest.destroyed).toBe(false)
    expect(peers.byKey(toHex(origin))).toBe(honest)
    expect(policy.badPiece(honest.key)).toBe(false) // the impostor's strikes are not its own
    // Banned in its turn, it is banned on its own remote (a second ban of the id, not a repeat of the first).
    peers.ban(honest.key, new Error('bad data'))
    expect(bans).toEqual([toHex(origin), toHex(origin)])
    expect((await admitted(peers, randomBytes(20), 0, { identity: { ...originRemote } }))!.destroyed).toBe(true)
  })

  it('a ban with no remote to tell apart (in-memory connections) holds on the peer id', async () => {
    const { peers } = list(10)
    const id = randomBytes(20)
    const bad = (await admitted(peers, id, 0))!
    peers.ban(bad.key, new Error('bad data'))
    expect(peers.wantsPeer(toHex(id))).toBe(false)
    expect((await admitted(peers, id, 0))!.destroyed).toBe(true)
  })

  it('a peer at a banned address with a new certificate is taken, one strike short of a ban', async () => {
    const { peers, policy } = list(10)
    const bad = (await admitted(peers, randomBytes(20), 0, { identity: { address: '10.77.0.1', fingerprint: 'sha-256 AA' } }))!
    peers.ban(bad.key, new Error('bad data'))
    const neighbour = (await admitted(peers, randomBytes(20), 0, { identity: { address: '10.77.0.1', fingerprint: 'sha-256 CC' } }))!
    expect(neighbour.destroyed).toBe(false)
    expect(policy.badPiece(neighbour.key)).toBe(true)
    const elsewhere = (await admitted(peers, randomBytes(20), 0, { identity: { address: '10.77.0.9', fingerprint: 'sha-256 DD' } }))!
    expect(policy.badPiece(elsewhere.key)).toBe(false)
  })

  it('a banned remote named again by its IPv4-mapped address (::ffff:10.77.0.1, however spelt) is the same remote', async () => {
    // How each transport comes to name the remote so: a dual-stack socket, or an ICE candidate the remote wrote so.
    for (const identity of await mappedIdentities('10.77.0.1', 'SHA-256 AA:BB')) {
      const { peers, policy } = list(10)
      const bad = (await admitted(peers, randomBytes(20), 0, { identity: { address: '10.77.0.1', fingerprint: identity.fingerprint } }))!
      peers.ban(bad.key, new Error('bad data'))
      // The same certificate under a new id is refused; without one (TCP), the same id is, and a new id starts one strike short.
      const same = (await admitted(peers, identity.fingerprint === undefined ? fromHex(bad.key) : randomBytes(20), 0, { identity }))!
      expect(same.destroyed, identity.address).toBe(true)
      const neighbour = (await admitted(peers, randomBytes(20), 0, { identity: { ...identity, fingerprint: identity.fingerprint === undefined ? undefined : 'SHA-256 CC' } }))!
      expect(neighbour.destroyed, identity.address).toBe(false)
      expect(policy.badPiece(neighbour.key), identity.address).toBe(true)
    }
  })
})

/**
 * The identities that the transports give a remote at `ipv4` when they see it IPv4-mapped: TCP (a dual-stack
 * listener's socket), WebRTC in Node (the selected pair's remote candidate) and simple-peer (its remoteAddress).
 */
async function mappedIdentities (ipv4: string, fingerprint: string): Promise<RemoteIdentity[]> {
  const [a, b, c, d] = ipv4.split('.').map(Number) as [number, number, number, number]
  const hex = `::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  const socket = { remoteAddress: `::ffff:${ipv4}`, remotePort: 51413, setNoDelay () {}, on () {}, pause () {}, resume () {}, writableLength: 0, write () {}, destroy () {} }
  const tcp = new TcpConnection(socket as unknown as ConstructorParameters<typeof TcpConnection>[0], { initiator: true })
  tcp.close()
  class MappedCandidate extends FakePeerConnection {
    override async getStats (): Promise<Map<string, unknown>> {
      return new Map<string, unknown>([
        ['p', { id: 'p', type: 'candidate-pair', state: 'succeeded', nominated: true, remoteCandidateId: 'r' }],
        ['r', { id: 'r', type: 'remote-candidate', address: `::FFFF:${ipv4}`, port: 5000 }]
      ])
    }
  }
  const { connection: rtc } = await createOffer({ RTCPeerConnection: MappedCandidate as unknown as RTCPeerConnectionConstructor, iceTimeoutMs: 1000 })
  await rtc.accept({ type: 'answer', sdp: `v=0\r\na=fingerprint:${fingerprint}\r\n` })
  ;(FakePeerConnection.instances.at(-1)!.channel as unknown as { open: () => void }).open()
  await new Promise((resolve) => setTimeout(resolve, 5))
  const rtcIdentity = { ...rtc.identity }
  rtc.close()
  const simple = new SimplePeerConnection({
    initiator: true, connected: true, remoteAddress: hex, _pc: { remoteDescription: { sdp: `a=fingerprint:${fingerprint}` } },
    on () {}, once () {}, write: () => true, destroy () {}
  } as unknown as SimplePeerLike)
  return [tcp.identity, rtcIdentity, simple.identity]
}
