/** The parts of bittorrent-dht (BEP 5) that engine/discovery/dht.ts uses; the package ships no types. */
declare module 'bittorrent-dht' {
  import type { EventEmitter } from 'node:events'
  export interface DhtPeer { host: string, port: number }
  export interface DhtOptions {
    /** Nodes to start from ("host:port" or { host, port }); false: none (a bootstrap node itself). */
    bootstrap?: Array<string | DhtPeer> | false
    /** The address announced for ourselves when we store peers locally; false/undefined: none. */
    host?: string | false
  }
  export class DHT extends EventEmitter {
    constructor (opts?: DhtOptions)
    listen (port?: number, address?: string, cb?: () => void): void
    address (): { address: string, family: string, port: number }
    announce (infoHash: string | Uint8Array, port: number, cb?: (err?: Error | null) => void): void
    lookup (infoHash: string | Uint8Array, cb?: (err?: Error | null, found?: number) => void): () => void
    destroy (cb?: () => void): void
    readonly ready: boolean
  }
  export { DHT as Client }
  export default DHT
}
