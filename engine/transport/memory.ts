/**
 * Two connected in-memory Connections, for unit tests of engine logic only (end-to-end tests use real WebRTC).
 * Delivery is asynchronous and in order, like a data channel; `bufferedAmount` counts bytes not yet delivered.
 */
import { Emitter } from '../util/emitter.js'
import type { Connection, ConnectionEvents } from './index.js'

class MemoryConnection extends Emitter<ConnectionEvents> implements Connection {
  remote: MemoryConnection | undefined
  readonly initiator: boolean
  readonly remoteAddress: string
  bufferedAmount = 0
  closed = false

  constructor (initiator: boolean, name: string) {
    super()
    this.initiator = initiator
    this.remoteAddress = `memory ${name}`
  }

  send (data: Uint8Array): void {
    if (this.closed) return
    const copy = data.slice()
    this.bufferedAmount += copy.length
    setTimeout(() => {
      this.bufferedAmount -= copy.length
      const remote = this.remote
      if (remote !== undefined && !remote.closed) remote.emit('data', copy)
      if (this.bufferedAmount === 0 && !this.closed) this.emit('drain')
    }, 0)
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.emit('close')
    this.removeAllListeners()
    const remote = this.remote
    if (remote !== undefined) setTimeout(() => remote.close(), 0)
  }
}

export function memoryConnectionPair (): [Connection, Connection] {
  const a = new MemoryConnection(true, 'a')
  const b = new MemoryConnection(false, 'b')
  a.remote = b
  b.remote = a
  return [a, b]
}
