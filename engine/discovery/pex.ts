/**
 * Peer exchange (BEP 11, ut_pex) over TCP for Node peers: every minute at most, each TCP peer that speaks ut_pex is
 * told which other TCP peers we are connected to (those we can name a listening address for), and the addresses
 * peers tell us go to the TCP discovery to be dialled. The codec and the per-peer bookkeeping are
 * engine/extensions/ut_pex.ts; this file is the glue the torrent calls (TorrentInit.pex). WebRTC peers are neither
 * told nor listened to: an address means nothing to a browser. Node-only (it looks at TCP connections).
 */
import { PEX_FLAGS, PEX_INTERVAL_MS, PexState, UT_PEX, decodePex, encodePex, type PexContact } from '../extensions/ut_pex.js'
import type { PeerExchangeHooks } from '../torrent.js'
import { TcpConnection } from '../transport/tcp.js'
import { parseIp } from '../util/ip.js'
import type { Peer } from '../wire/peer.js'
import type { PeerAddress } from './http-tracker.js'

export class TcpPeerExchange implements PeerExchangeHooks {
  readonly listenPort: number | undefined
  readonly #told = new WeakMap<Peer, PexState>()
  readonly #lastHeard = new WeakMap<Peer, number>()
  #sink: ((addresses: PeerAddress[]) => void) | undefined

  constructor (init: { listenPort?: number | undefined } = {}) {
    this.listenPort = init.listenPort
  }

  /** Where the addresses peers tell us go (TcpDiscovery.addPeers). */
  connect (sink: (addresses: PeerAddress[]) => void): void {
    this.#sink = sink
  }

  onMessage (peer: Peer, payload: Uint8Array): void {
    if (!(peer.connection instanceof TcpConnection)) return
    const now = Date.now()
    // BEP 11 rounds come at most once a minute; a peer flooding us gets the excess ignored (half the period allowed).
    const last = this.#lastHeard.get(peer)
    if (last !== undefined && now - last < PEX_INTERVAL_MS / 2) return
    this.#lastHeard.set(peer, now)
    let added: PexContact[]
    try {
      added = decodePex(payload).added
    } catch (err) {
      // Malformed: a warning about this peer (the torrent logs it); its contacts are not used.
      peer.emit('warning', err as Error)
      return
    }
    if (added.length > 0) this.#sink?.(added.map((c) => ({ ip: c.ip, port: c.port })))
  }

  onPeerClose (peer: Peer): void {
    this.#told.delete(peer)
    this.#lastHeard.delete(peer)
  }

  tick (peers: ReadonlySet<Peer>, now: number): void {
    const contacts = new Map<Peer, PexContact & { flags: number }>()
    for (const peer of peers) {
      const contact = dialable(peer)
      if (contact !== undefined) contacts.set(peer, contact)
    }
    for (const peer of peers) {
      if (!(peer.connection instanceof TcpConnection) || peer.extended?.m[UT_PEX] === undefined || peer.destroyed) continue
      let state = this.#told.get(peer)
      if (state === undefined) {
        state = new PexState()
        this.#told.set(peer, state)
      }
      const others = [...contacts].filter(([p]) => p !== peer).map(([, c]) => c)
      const message = state.next(others, now)
      if (message !== undefined) peer.writeExtension(UT_PEX, encodePex(message))
    }
  }
}

/** A TCP peer's listening address: where we dialled it, or its BEP 10 `p` on its address when it dialled us. */
function dialable (peer: Peer): (PexContact & { flags: number }) | undefined {
  const conn = peer.connection
  if (!(conn instanceof TcpConnection) || !peer.receivedHandshake || peer.destroyed) return undefined
  const port = conn.initiator ? conn.remotePort : peer.extended?.p
  // Node names a link-local IPv6 peer with its zone (fe80::1%eth0): no address another host can dial, nor one
  // parseIp reads (and contactKey would throw on it).
  if (port === undefined || port <= 0 || port > 65535 || parseIp(conn.remoteIp) === undefined) return undefined
  const flags = (conn.initiator ? PEX_FLAGS.reachable : 0) | (peer.has?.complete === true ? PEX_FLAGS.seed : 0)
  return { ip: conn.remoteIp, port, flags }
}
