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
