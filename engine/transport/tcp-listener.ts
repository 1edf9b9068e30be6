/**
 * One TCP port for every torrent of the process (as BitTorrent clients do): an accepted connection is routed to
 * its torrent by the infohash in the remote's handshake, which the remote sends first (BEP 3: "The handshake starts
 * with character nineteen ... followed by the string 'BitTorrent protocol' ... eight reserved bytes ... then the
 * 20 byte sha1 hash"). Node-only. The bytes read to route are handed on, so the torrent reads the whole handshake.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { TCP_HANDSHAKE_TIMEOUT_MS, TCP_MAX_HALF_OPEN_INCOMING } from '../constants.js'
import { toHex } from '../util/bytes.js'
import { TcpConnection } from './tcp.js'

/** pstrlen (1) + "BitTorrent protocol" (19) + reserved (8) + info_hash (20). */
const ROUTE_BYTES = 48
const PROTOCOL = 'BitTorrent protocol'

export type IncomingHandler = (connection: TcpConnection) => void

export interface TcpListenerInit {
  /** Default 0.0.0.0 (peers elsewhere must reach it); tests pass 127.0.0.1. */
  host?: string
  /** 0: a free port. */
  port: number
}

export class TcpListener {
  readonly #server: Server
  readonly #handlers = new Map<string, IncomingHandler>()
  /** Every accepted socket, so close() ends them (server.close() alone waits for them). */
  readonly #sockets = new Set<Socket>()
  #halfOpen = 0
  port = 0
  /** The address listened on (`::` is every address, IPv6 and IPv4, on a dual-stack system). */
  host = ''

  private constructor (server: Server) {
    this.#server = server
    server.on('connection', (socket) => this.#onSocket(socket))
  }

  /** Listens; rejects with the system error (EADDRINUSE...) when the port cannot be had. */
  static async listen (init: TcpListenerInit): Promise<TcpListener> {
    const server = createServer({ pauseOnConnect: false })
    const listener = new TcpListener(server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(init.port, init.host ?? '0.0.0.0', () => {
        server.off('error', reject)
        resolve()
      })
    })
    const address = server.address()
    listener.port = typeof address === 'object' && address !== null ? address.port : init.port
    listener.host = typeof address === 'object' && address !== null ? address.address : init.host ?? '0.0.0.0'
    return listener
  }

  /** Incoming connections for this infohash (40 hex) go to `handler`; returns the function that stops it. */
  register (infoHashHex: string, handler: IncomingHandler): () => void {
    const key = infoHashHex.toLowerCase()
    this.#handlers.set(key, handler)
    return () => { if (this.#handlers.get(key) === handler) this.#handlers.delete(key) }
  }

  #onSocket (socket: Socket): void {
    this.#sockets.add(socket)
    socket.once('close', () => this.#sockets.delete(socket))
    if (this.#halfOpen >= TCP_MAX_HALF_OPEN_INCOMING) {
      socket.destroy()
      return
    }
    this.#halfOpen++
    let read = Buffer.alloc(0)
    let settled = false
    const finish = (): void => {
      if (settled) return
      settled = true
      this.#halfOpen--
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('error', onGone)
      socket.off('close', onGone)
    }
    const drop = (): void => {
      finish()
      socket.destroy()
    }
    const onGone = (): void => drop()
    const onData = (chunk: Buffer): void => {
      read = Buffer.concat([read, chunk])
      if (read.length < ROUTE_BYTES) {
        // Refuse early what cannot be a BitTorrent handshake (an HTTP request, a port scan).
        if (read.length >= 1 && read[0] !== PROTOCOL.length) drop()
        return
      }
      if (read[0] !== PROTOCOL.length || read.subarray(1, 20).toString('latin1') !== PROTOCOL) {
        drop()
        return
      }
      const handler = this.#handlers.get(toHex(read.subarray(28, 48)))
      if (handler === undefined) {
        drop()
        return
      }
      finish()
      socket.pause()
      handler(new TcpConnection(socket, { initiator: false, prefix: new Uint8Array(read) }))
    }
    const timer = setTimeout(drop, TCP_HANDSHAKE_TIMEOUT_MS)
    socket.on('data', onData)
    socket.on('error', onGone)
    socket.on('close', onGone)
  }

  async close (): Promise<void> {
    this.#handlers.clear()
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
