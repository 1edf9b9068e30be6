/**
 * Peer management: the connected peers of one torrent, admission (capacity, turnover), duplicates, bans and idle
 * peers. What each peer is worth comes from the peer policy (engine/peer-policy.ts); this module acts on it: it
 * owns the Peer objects' admission state (key) and ends connections, and no other module does either.
 *
 * Bans hold against the remote, not only the peer id it chose: a banned peer's DTLS certificate fingerprint (with
 * its address) is refused too, and a new peer from an address that had a peer banned starts one strike short of a
 * ban. (An address alone is not a ban: peers behind one NAT, or several processes on one machine, share it.)
 *
 * A banned peer id is banned on the remote that used it, never on whoever uses it next: a peer id is self-chosen,
 * so a remote that sends bad pieces under the origin's id would otherwise get the origin refused. The id refuses a
 * connection only when that connection cannot be told apart from the banned remote (otherRemote): the same or an
 * unknown certificate and address. A banned remote gains nothing by reusing the id with a new certificate: it could
 * as well take a new id, and either way its address starts it one strike short. (Strikes, likewise, stay with the
 * remote: engine/peer-policy.ts.) Before a connection, an id is refused only when its ban recorded no remote to compare at the handshake.
 */
import { DEAD_LINK_MS, KEEP_ALIVE_INTERVAL_MS, PEER_HANDSHAKE_TIMEOUT_MS, PEER_IDLE_TIMEOUT_MS, peerTurnoverSlack, SIMULTANEOUS_OPEN_MS } from './constants.js'
import { otherRemote, type PeerIdentity, type PeerPolicy } from './peer-policy.js'
import type { SeedingTurnover } from './seeding-turnover.js'
import type { Connection } from './transport/index.js'
import { Peer, type PeerInit } from './wire/peer.js'

export interface PeerListInit {
  maxPeers: number
  /** Our own peer id (hex): connections to ourselves are dropped. */
  ownId: string
  peerPolicy: PeerPolicy
  /** Whether pieces are still wanted (peers that give nothing may then be turned over). */
  wanting: () => boolean
  /** A peer was dropped or refused: for the `warning` event. */
  warn: (peer: Peer, err: Error) => void
  /** A peer was banned (id, or connection key before its handshake). */
  onBan: (id: string, reason: Error) => void
}

interface BannedRemote { fingerprint: string, address: string | undefined }

export class PeerList {
  readonly #init: PeerListInit
  readonly #peers = new Set<Peer>()
  readonly #byKey = new Map<string, Peer>()
  /** Banned peer ids, each with the remote that was banned under it. */
  readonly #bannedIds = new Map<string, PeerIdentity>()
  readonly #bannedRemotes: BannedRemote[] = []
  /** Addresses that had a peer banned. */
  readonly #bannedAddresses = new Set<string>()
  /** When each peer was admitted: its handshake is due within PEER_HANDSHAKE_TIMEOUT_MS. */
  readonly #openedAt = new WeakMap<Peer, number>()
  #connectionCount = 0
  /** Turnover while seeding (engine/seeding-turnover.ts), set with the serving side's code; none until then. */
  seedingTurnover: SeedingTurnover | undefined

  constructor (init: PeerListInit) {
    this.#init = init
  }

  get all (): ReadonlySet<Peer> { return this.#peers }
  get size (): number { return this.#peers.size }

  byKey (key: string): Peer | undefined {
    return this.#byKey.get(key)
  }

  /** Handshaken peers. */
  get connected (): number {
    let n = 0
    for (const p of this.#peers) if (p.receivedHandshake) n++
    return n
  }

  /**
   * Whether a connection to this peer id (hex) would be taken: not ourselves, not connected already, not banned,
   * and a free slot, or a useless peer whose slot it may take (peer turnover).
   */
  wantsPeer (peerIdHex: string, now = Date.now()): boolean {
    const banned = this.#bannedIds.get(peerIdHex)
    if ((banned !== undefined && (banned.fingerprint ?? banned.address) === undefined) || this.#byKey.has(peerIdHex) || peerIdHex === this.#init.ownId) return false
    return this.#peers.size < this.#limit || this.#candidate(now) !== undefined
  }

  /** The turnover candidate: the policy's while pieces are wanted, the seeding turnover's (if loaded yet) after. */
  #candidate (now: number): string | undefined {
    return this.#init.wanting() ? this.#init.peerPolicy.evictionCandidate(now) : this.seedingTurnover?.evictionCandidate(this.#peers, this.#init.peerPolicy, now)
  }

  /** The cap plus the turnover slack while pieces are wanted (peerTurnoverSlack); the cap alone when seeding. */
  get #limit (): number {
    const { maxPeers } = this.#init
    return this.#init.wanting() ? maxPeers + peerTurnoverSlack(maxPeers) : maxPeers
  }

  /**
   * Takes a freshly opened connection: a Peer, or undefined when the list is full of peers worth their slot (the
   * connection is closed). Beyond the cap, while pieces are wanted, a few newcomers are taken anyway (the slack),
   * and tick() turns the most useless peers over until the list is back at its cap; when even the slack is used,
   * the most useless peer (policy.evictionCandidate) makes room at once.
   */
  admit (connection: Connection, peerInit: PeerInit, now = Date.now()): Peer | undefined {
    if (this.#peers.size >= this.#limit && !this.#evictOne(now)) {
      connection.close()
      return undefined
    }
    const peer = new Peer(connection, peerInit, `connection-${++this.#connectionCount}`)
    this.#peers.add(peer)
    this.#openedAt.set(peer, now)
    return peer
  }

  #evictOne (now: number): boolean {
    const key = this.#candidate(now)
    const victim = key === undefined ? undefined : this.#byKey.get(key)
    if (victim === undefined) return false
    this.#init.warn(victim, new Error('useless: its slot goes to a new peer'))
    victim.destroy()
    return true
  }

  /**
   * The remote's handshake arrived: keys the peer by its id. False (and the peer is dropped) for ourselves, a
   * banned id or remote, or the losing side of a duplicate connection.
   */
  onHandshake (peer: Peer, now = Date.now()): boolean {
    const id = peer.remotePeerIdHex!
    if (this.#remoteBanned(peer)) {
      this.#init.warn(peer, new Error('refused: same remote as a banned peer'))
      peer.destroy()
      return false
    }
    const banned = this.#bannedIds.get(id)
    if ((banned !== undefined && !otherRemote(banned, identityOf(peer))) || id === this.#init.ownId) {
      peer.destroy()
      return false
    }
    const existing = this.#byKey.get(id)
    if (existing !== undefined) {
      // Two peers that announce at the same time each answer the other's offer: two connections, and if each
      // side kept a different one, both would die. Both sides keep the one started by the lower peer id. That
      // case only: both handshakes within moments (SIMULTANEOUS_OPEN_MS). A peer id is self-chosen, so a later
      // connection under a connected peer's id is refused, not taken: a remote claiming the origin's id must not
      // cut the origin's link. Unless that link is dead: silent for DEAD_LINK_MS, when a live one sends at least a
      // keep-alive. Then the newcomer replaces it, so an honest peer whose link died silently (laptop wake, network
      // change) reconnects at once rather than after PEER_IDLE_TIMEOUT_MS.
      if (now - existing.lastReceivedAt <= DEAD_LINK_MS) {
        const preferred = (p: Peer): boolean => p.connection.initiator === (this.#init.ownId < id)
        if (now - this.#init.peerPolicy.get(id)!.connectedAt > SIMULTANEOUS_OPEN_MS) {
          this.#init.warn(peer, new Error('refused: its peer id is connected already'))
          peer.destroy()
          return false
        }
        if (preferred(existing) || !preferred(peer)) {
          peer.destroy()
          return false
        }
      }
      this.#byKey.delete(id)
      existing.destroy()
    }
    peer.key = id
    this.#byKey.set(id, peer)
    const identity = identityOf(peer)
    const strikes = identity.address !== undefined && this.#bannedAddresses.has(identity.address) ? Number.MAX_SAFE_INTEGER : 0
    this.#init.peerPolicy.connected(id, now, identity, strikes)
    return true
  }

  /** A peer's connection closed: forget it (the policy keeps its record for a while). */
  remove (peer: Peer): void {
    this.#peers.delete(peer)
    if (this.#byKey.get(peer.key) === peer) {
      this.#byKey.delete(peer.key)
      this.#init.peerPolicy.disconnected(peer.key)
    }
  }

  /**
   * Bans the peer with this key, connected or not: its id (on its remote), and its remote (fingerprint and address)
   * as the policy recorded it. A connected peer is dropped.
   */
  ban (key: string, reason: Error): void {
    const peer = this.#byKey.get(key)
    const live = peer === undefined ? {} : identityOf(peer)
    const banned = this.#bannedIds.get(key)
    if (banned !== undefined && !otherRemote(banned, live)) {
      peer?.destroy()
      return
    }
    const recorded = this.#init.peerPolicy.get(key)?.identity ?? {}
    const fingerprint = live.fingerprint ?? recorded.fingerprint
    const address = live.address ?? recorded.address
    if (!key.startsWith('connection-')) this.#bannedIds.set(key, { fingerprint, address })
    if (fingerprint !== undefined) this.#bannedRemotes.push({ fingerprint, address })
    if (address !== undefined) this.#bannedAddresses.add(address)
    this.#init.onBan(key, reason)
    if (peer !== undefined) {
      this.#init.warn(peer, new Error(`banned: ${reason.message}`))
      peer.destroy()
    }
  }

  /**
   * The same DTLS certificate as a banned peer: the same remote (certificates are generated per client, and the
   * fingerprint is known before the channel opens). When both addresses are known they must match too.
   */
  #remoteBanned (peer: Peer): boolean {
    const { fingerprint, address } = identityOf(peer)
    return fingerprint !== undefined &&
      this.#bannedRemotes.some((b) => b.fingerprint === fingerprint && (b.address ?? address) === (address ?? b.address))
  }

  /**
   * Once a second: drops peers without a handshake in time and peers silent for too long, keeps the others alive
   * (BEP 3 keep-alives).
   */
  tick (now = Date.now()): void {
    this.seedingTurnover?.noteInterest(this.#peers, now)
    for (const peer of this.#peers) {
      if (!peer.receivedHandshake && now - this.#openedAt.get(peer)! > PEER_HANDSHAKE_TIMEOUT_MS) {
        this.#init.warn(peer, new Error('no handshake in time'))
        peer.destroy()
      } else if (now - peer.lastReceivedAt > PEER_IDLE_TIMEOUT_MS) {
        this.#init.warn(peer, new Error('silent for too long'))
        peer.destroy()
      } else if (now - peer.lastSentAt > KEEP_ALIVE_INTERVAL_MS) {
        peer.writeKeepAlive()
      }
    }
    // Back to the cap: the slack is for the next newcomer.
    while (this.#peers.size > this.#init.maxPeers && this.#evictOne(now)) {}
  }

  destroyAll (): void {
    for (const peer of [...this.#peers]) peer.destroy()
  }
}

function identityOf (peer: Peer): PeerIdentity {
  return peer.connection.identity ?? {}
}
