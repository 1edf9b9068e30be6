declare module 'bencode' {
  const bencode: {
    encode: (value: unknown) => Uint8Array
    decode: ((data: Uint8Array, start?: number, end?: number, encoding?: string) => unknown) & { position: number }
    byteLength: (value: unknown) => number
  }
  export default bencode
}

declare module 'bittorrent-tracker' {
  import type { EventEmitter } from 'node:events'
  import type { Server as HttpServer } from 'node:http'
  export class Server extends EventEmitter {
    constructor (opts?: Record<string, unknown>)
    http: HttpServer
    /** The UDP sockets (BEP 15); null with `udp: false`. */
    udp: import('node:dgram').Socket | null
    udp4: import('node:dgram').Socket | null
    udp6: import('node:dgram').Socket | null
    listen (port: number, host?: string, cb?: () => void): void
    close (cb?: () => void): void
    /** The peers' Swarm class (lib/server/swarm.js), which createSwarm makes. */
    static Swarm: new (infoHash: string, server: Server) => unknown
    /** Internal: the swarms held, by hex info_hash. The server adds to it and never removes. */
    torrents: Record<string, unknown>
    /** Internal: sets up each new WebSocket (`socket.upgradeReq` is its HTTP upgrade request). */
    onWebSocketConnection (socket: unknown, opts?: unknown): void
    /** Internal: every WebSocket message of `socket` (`params` is the raw frame, parsed by the server). */
    _onWebSocketRequest (socket: unknown, opts: unknown, params: unknown): void
    /** Internal: the two steps through which every announce and scrape goes on (each on a later tick). */
    getSwarm (infoHash: string, cb: (err: Error | null, swarm: unknown) => void): void
    createSwarm (infoHash: string, cb: (err: Error | null, swarm: unknown) => void): void
    _onScrape (params: { info_hash?: unknown }, cb: (err: Error | null, response?: unknown) => void): void
    /** Internal: every announce (HTTP, UDP, WebSocket), after parsing; `params.info_hash` is hex. */
    _onAnnounce (params: object, cb: (err: Error | null, response?: unknown) => void): void
  }
  export default class Client extends EventEmitter {
    constructor (opts: Record<string, unknown>)
    start (opts?: Record<string, unknown>): void
    stop (opts?: Record<string, unknown>): void
    complete (opts?: Record<string, unknown>): void
    update (opts?: Record<string, unknown>): void
    setInterval (ms: number): void
    destroy (cb?: (err?: Error) => void): void
  }
}
