/**
 * The mainline DHT (BEP 5) for Node peers, through bittorrent-dht: one DHT node per process, shared by every
 * torrent in it, on UDP (by convention the same port number as the TCP listener). A torrent looks itself up and
 * announces its TCP port periodically (tcp.ts); peers found arrive per infohash. Node-only (node:dgram through
 * k-rpc); never in a browser bundle.
 */
import DHT from 'bittorrent-dht'
import { DHT_DEFAULT_BOOTSTRAP } from '../constants.js'
import { toHex } from '../util/bytes.js'
import type { PeerAddress } from './http-tracker.js'

export interface MainlineDhtInit {
  /** UDP port (0: a free one). */
  port: number
  /** Default 0.0.0.0. */
  host?: string
  /** "host:port" nodes to start from (IPv6 with or without brackets); default the public routers (DHT_DEFAULT_BOOTSTRAP). An empty list: none. */
  bootstrap?: readonly string[]
  onWarning?: (err: Error) => void
}

type PeerHandler = (peer: PeerAddress) => void

export class MainlineDht {
  readonly #dht: DHT
  readonly #handlers = new Map<string, Set<PeerHandler>>()
  port = 0

  private constructor (dht: DHT) {
    this.#dht = dht
    dht.on('peer', (peer: { host: string, port: number }, infoHash: Uint8Array) => {
      const set = this.#handlers.get(toHex(infoHash))
      if (set === undefined || !(peer.port > 0 && peer.port < 65536)) return
      for (const handler of set) handler({ ip: peer.host, port: peer.port })
    })
  }

  static async start (init: MainlineDhtInit): Promise<MainlineDht> {
    const bootstrap = init.bootstrap ?? DHT_DEFAULT_BOOTSTRAP
    // As { host, port }: k-rpc splits a "host:port" string at the first colon, which breaks IPv6 addresses.
    const nodes = bootstrap.map((s) => ({ host: s.slice(0, s.lastIndexOf(':')).replace(/^\[|\]$/g, ''), port: Number(s.slice(s.lastIndexOf(':') + 1)) }))
    const dht = new DHT({ bootstrap: nodes.length > 0 ? nodes : false })
    const node = new MainlineDht(dht)
    dht.on('warning', (err: Error) => init.onWarning?.(err))
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      dht.once('error', onError)
      dht.listen(init.port, init.host ?? '0.0.0.0', () => {
        dht.off('error', onError)
        // Later socket errors (an unreachable node) are warnings, not crashes.
        dht.on('error', (err: Error) => init.onWarning?.(err))
        resolve()
      })
    })
    node.port = dht.address().port
    return node
  }

  /** Peers found for `infoHashHex` go to `handler` until the returned function is called. */
  onPeers (infoHashHex: string, handler: PeerHandler): () => void {
    const key = infoHashHex.toLowerCase()
    let set = this.#handlers.get(key)
    if (set === undefined) {
      set = new Set()
      this.#handlers.set(key, set)
    }
    set.add(handler)
    return () => {
      set.delete(handler)
      if (set.size === 0) this.#handlers.delete(key)
    }
  }

  /**
   * Looks the torrent up and announces `port` (our TCP port) to the nodes closest to it; peers met on the way are
   * reported to onPeers handlers. Resolves when the announce was sent (or failed: rejects).
   */
  async announce (infoHashHex: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#dht.announce(infoHashHex, port, (err) => { if (err !== null && err !== undefined) reject(err); else resolve() })
    })
  }

  /** Looks the torrent up without announcing (a peer that cannot accept connections). */
  async lookup (infoHashHex: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#dht.lookup(infoHashHex, (err) => { if (err !== null && err !== undefined) reject(err); else resolve() })
    })
  }

  async close (): Promise<void> {
    this.#handlers.clear()
    await new Promise<void>((resolve) => this.#dht.destroy(() => resolve()))
  }
}
