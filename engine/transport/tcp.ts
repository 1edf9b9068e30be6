/**
 * The wire protocol over TCP (BEP 3's own transport), for Node peers: what ordinary BitTorrent clients (aria2,
 * Transmission, libtorrent, qBittorrent) speak. Node-only (node:net): browsers cannot open TCP sockets and never
 * load this file (it is not reachable from engine/index.ts).
 *
 * A TCP stream needs no framing of its own: the wire codec already reads a byte stream (length-prefixed messages).
 */
import { connect, type Socket } from 'node:net'
import { TCP_CONNECT_TIMEOUT_MS, TCP_MAX_BUFFERED_BYTES } from '../constants.js'
import { AbortError } from '../errors.js'
import { Emitter } from '../util/emitter.js'
import { normalizeIp } from '../util/ip.js'
import type { Connection, ConnectionEvents, RemoteIdentity } from './index.js'

export interface TcpConnectionInit {
  /** Whether we dialled (true) or accepted (false). */
  initiator: boolean
  /** Bytes already read from the socket (the listener reads the handshake to route it): delivered first. */
  prefix?: Uint8Array
}

export class TcpConnection extends Emitter<ConnectionEvents> implements Connection {
  readonly initiator: boolean
  readonly remoteAddress: string
  readonly identity: RemoteIdentity
  /** The remote's IP and port as seen on the socket (for an accepted connection, the port is its outgoing one). */
  readonly remoteIp: string
  readonly remotePort: number
  closed = false
  readonly #socket: Socket

  constructor (socket: Socket, init: TcpConnectionInit) {
    super()
    this.#socket = socket
    this.initiator = init.initiator
    this.remoteIp = normalizeIp(socket.remoteAddress ?? '')
    this.remotePort = socket.remotePort ?? 0
    this.remoteAddress = `tcp ${this.remoteIp.includes(':') ? `[${this.remoteIp}]` : this.remoteIp}:${this.remotePort}`
    this.identity = { address: this.remoteIp }
    socket.setNoDelay(true)
    socket.on('drain', () => { if (!this.closed) this.emit('drain') })
    socket.on('error', (err) => {
      // A reset or a peer that vanished is a peer leaving; anything else is worth a warning.
      if (!this.closed && !isRemoteGone(err)) this.emit('error', err)
      this.close()
    })
    socket.on('close', () => this.close())
    // Listeners are attached by whoever receives this connection right after construction: deliver on the next
    // turn, the bytes read before (the handshake) first, in order.
    const start = (): void => {
      if (this.closed) return
      if (init.prefix !== undefined && init.prefix.length > 0) this.emit('data', init.prefix)
      socket.on('data', (chunk: Buffer) => {
        if (!this.closed) this.emit('data', new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      })
      socket.resume()
    }
    socket.pause()
    setImmediate(start)
  }

  get bufferedAmount (): number {
    return this.#socket.writableLength
  }

  send (data: Uint8Array): void {
    if (this.closed) return
    // A remote that does not read: what it makes us write would wait here without end (TCP_MAX_BUFFERED_BYTES).
    if (this.#socket.writableLength + data.length > TCP_MAX_BUFFERED_BYTES) {
      this.emit('error', new Error(`the remote does not read: ${this.#socket.writableLength} bytes wait to be sent`))
      this.close()
      return
    }
    // net.Socket keeps a reference until written: the wire codec encodes every message into a fresh buffer, so no
    // copy is needed (as the data channel, which copies inside).
    this.#socket.write(data)
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.#socket.destroy()
    this.emit('close')
    this.removeAllListeners()
  }
}

/** ECONNRESET, EPIPE, ETIMEDOUT: the remote went away, which is not worth a warning. */
function isRemoteGone (err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT' || code === 'ECONNABORTED'
}

export interface DialInit {
  host: string
  port: number
  signal?: AbortSignal
  /** Default TCP_CONNECT_TIMEOUT_MS. */
  timeoutMs?: number
}

/** Opens a TCP connection to a peer; rejects when it is refused, times out or the signal aborts. */
export async function dialTcp (init: DialInit): Promise<TcpConnection> {
  return await new Promise<TcpConnection>((resolve, reject) => {
    if (init.signal?.aborted === true) {
      reject(new AbortError())
      return
    }
    const socket = connect({ host: init.host, port: init.port })
    const timer = setTimeout(() => fail(new Error(`connect to ${init.host}:${init.port} timed out`)), init.timeoutMs ?? TCP_CONNECT_TIMEOUT_MS)
    const onAbort = (): void => fail(new AbortError())
    init.signal?.addEventListener('abort', onAbort, { once: true })
    const cleanup = (): void => {
      clearTimeout(timer)
      init.signal?.removeEventListener('abort', onAbort)
      socket.off('error', fail)
      socket.off('connect', onConnect)
    }
    function fail (err: Error): void {
      cleanup()
      socket.destroy()
      reject(err)
    }
    function onConnect (): void {
      cleanup()
      resolve(new TcpConnection(socket, { initiator: true }))
    }
    socket.once('error', fail)
    socket.once('connect', onConnect)
  })
}
