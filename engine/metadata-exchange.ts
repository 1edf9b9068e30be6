/**
 * BEP 9 glue: fetches the info dictionary from peers when we start from an infohash alone, and serves it to
 * peers that ask. The message formats and the assembly/verification live in extensions/ut_metadata.ts.
 */
import { ProtocolError } from './errors.js'
import {
  decodeMetadataMessage,
  encodeMetadataData,
  encodeMetadataReject,
  encodeMetadataRequest,
  MetadataAssembler,
  metadataPiece
} from './extensions/ut_metadata.js'
import type { Peer } from './wire/peer.js'

const METADATA_REQUEST_TIMEOUT_MS = 10_000

export interface MetadataExchangeContext {
  readonly infoHash: Uint8Array
  /** The info dictionary, once we have it. */
  info (): Uint8Array | undefined
  /** Called once with verified info dictionary bytes (their SHA-1 is the infohash). */
  onMetadata (info: Uint8Array): void
  warn (peer: Peer, err: Error): void
}

export class MetadataExchange {
  readonly #ctx: MetadataExchangeContext
  #assembler: MetadataAssembler | undefined
  readonly #requests = new Map<Peer, { piece: number, timer: ReturnType<typeof setTimeout> }>()
  readonly #peers = new Set<Peer>()
  #verifying = false

  constructor (ctx: MetadataExchangeContext) {
    this.#ctx = ctx
  }

  /** After the peer's BEP 10 handshake: if it offers metadata we lack, start asking it. */
  onExtendedHandshake (peer: Peer): void {
    if (this.#ctx.info() !== undefined) return
    const size = peer.extended?.metadataSize
    if (size === undefined || peer.extended?.m.ut_metadata === undefined) return
    if (this.#assembler === undefined) {
      try {
        this.#assembler = new MetadataAssembler({ infoHash: this.#ctx.infoHash, size })
      } catch (err) {
        this.#ctx.warn(peer, err as Error)
        return
      }
    } else if (this.#assembler.size !== size) {
      return // disagrees with the size we are assembling; the hash decides who was right
    }
    this.#peers.add(peer)
    this.#requestNext(peer)
  }

  onMessage (peer: Peer, payload: Uint8Array): void {
    let msg
    try {
      msg = decodeMetadataMessage(payload)
    } catch (err) {
      this.#ctx.warn(peer, err as Error)
      peer.destroy()
      return
    }
    // BEP 9: "an unrecognized message ID MUST be ignored".
    if (msg.msgType === 'unknown') return
    if (msg.msgType === 'request') {
      const info = this.#ctx.info()
      const data = info === undefined ? undefined : metadataPiece(info, msg.piece)
      if (info === undefined || data === undefined) peer.writeExtension('ut_metadata', encodeMetadataReject(msg.piece))
      else peer.writeExtension('ut_metadata', encodeMetadataData(msg.piece, info.length, data))
      return
    }
    const pending = this.#requests.get(peer)
    if (pending === undefined || pending.piece !== msg.piece || this.#assembler === undefined) return
    clearTimeout(pending.timer)
    this.#requests.delete(peer)
    if (msg.msgType === 'reject') {
      this.#assembler.releaseRequested(msg.piece)
      this.#peers.delete(peer)
      this.#requestFromOthers()
      return
    }
    try {
      this.#assembler.add(msg.piece, msg.data ?? new Uint8Array(0))
    } catch (err) {
      this.#ctx.warn(peer, err as Error)
      this.#assembler.releaseRequested(msg.piece)
      peer.destroy()
      return
    }
    if (this.#assembler.nextMissing() === undefined && this.#allReceived()) void this.#verify()
    else this.#requestNext(peer)
  }

  #allReceived (): boolean {
    return this.#assembler?.complete === true
  }

  async #verify (): Promise<void> {
    const assembler = this.#assembler
    if (assembler === undefined || this.#verifying) return
    this.#verifying = true
    const info = await assembler.verify()
    this.#verifying = false
    if (info === undefined) {
      for (const peer of this.#peers) this.#ctx.warn(peer, new ProtocolError('metadata from peers did not match the infohash'))
      this.#requestFromOthers()
      return
    }
    this.#clear()
    this.#ctx.onMetadata(info)
  }

  #requestNext (peer: Peer): void {
    const assembler = this.#assembler
    if (assembler === undefined || this.#requests.has(peer) || peer.destroyed) return
    const piece = assembler.nextMissing()
    if (piece === undefined) return
    assembler.markRequested(piece)
    const timer = setTimeout(() => {
      this.#requests.delete(peer)
      assembler.releaseRequested(piece)
      this.#requestFromOthers()
    }, METADATA_REQUEST_TIMEOUT_MS)
    this.#requests.set(peer, { piece, timer })
    if (!peer.writeExtension('ut_metadata', encodeMetadataRequest(piece))) {
      clearTimeout(timer)
      this.#requests.delete(peer)
      assembler.releaseRequested(piece)
    }
  }

  #requestFromOthers (): void {
    for (const peer of this.#peers) this.#requestNext(peer)
  }

  removePeer (peer: Peer): void {
    const pending = this.#requests.get(peer)
    if (pending !== undefined) {
      clearTimeout(pending.timer)
      this.#assembler?.releaseRequested(pending.piece)
      this.#requests.delete(peer)
    }
    this.#peers.delete(peer)
    this.#requestFromOthers()
  }

  #clear (): void {
    for (const { timer } of this.#requests.values()) clearTimeout(timer)
    this.#requests.clear()
    this.#peers.clear()
    this.#assembler = undefined
  }

  destroy (): void {
    this.#clear()
  }
}
