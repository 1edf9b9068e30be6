/**
 * One remote peer: the connection, the wire decoder, and the state BEP 3 gives each side of a connection
 * ("Connections contain two bits of state on either end: choked or not, and interested or not").
 *
 * Incoming bytes become typed events; `write*` methods put messages on the wire. What the messages mean for the
 * torrent (which blocks to request, what to upload) is decided by the torrent, not here.
 */
import { EXTENSION_RESERVED_BIT, EXTENSION_RESERVED_BYTE, HAVE_BATCH_MS, UNCHOKE_FILL_INTERVAL_MS } from '../constants.js'
import { ProtocolError } from '../errors.js'
import type { Bitfield } from '../bitfield.js'
import type { Connection } from '../transport/index.js'
import { Emitter } from '../util/emitter.js'
import { concatBytes, equalBytes, toHex } from '../util/bytes.js'
import { encodeCancels, encodeHandshake, encodeMessage, encodeRequests, WireDecoder } from './codec.js'
import { installServingWrites } from './serving-writes.js'
import { decodeExtendedHandshake, encodeExtendedHandshake } from './extended.js'
import type { ExtendedHandshake, Handshake, Message } from './messages.js'

/** The ids we ask peers to use when they send us extension messages (our BEP 10 `m` dictionary). */
export const LOCAL_EXTENSION_IDS = { ut_metadata: 1, peersite_pointer: 2, ut_pex: 3 } as const
export type ExtensionName = keyof typeof LOCAL_EXTENSION_IDS

export type PeerEvents = {
  handshake: [handshake: Handshake]
  'extended-handshake': [handshake: ExtendedHandshake]
  /** Every BEP 3 message after the handshake except keep-alives and extended messages. */
  message: [message: Message]
  /** An extension message addressed to one of our LOCAL_EXTENSION_IDS. */
  extension: [name: ExtensionName, payload: Uint8Array]
  close: []
  warning: [err: Error]
}

export interface PeerInit {
  infoHash: Uint8Array
  /** Our own peer id. */
  peerId: Uint8Array
  maxMessageLength: number
}

/**
 * Defined by scripts/build-browser.mjs (see engine/torrent.ts): in a plain site's own loader (PEERSITE_KEYED false,
 * PEERSITE_SERVE_LATER true) the serving side's writers come with its code (Torrent.serve: installServingWrites).
 */
declare const PEERSITE_KEYED: boolean | undefined
/** Defined true in the browser builds (scripts/browser-bundles.mjs): Node-only branches drop out. */
declare const PEERSITE_BROWSER: boolean | undefined
declare const PEERSITE_SERVE_LATER: boolean | undefined

/** The serving side's writers (engine/wire/serving-writes.ts), on the prototype: see installServingWrites. */
export interface Peer {
  writeChoke (): void
  writeUnchoke (): void
  /** Several blocks in one write (the uploader coalesces the blocks it has ready). */
  writePieces (blocks: ReadonlyArray<{ index: number, begin: number, block: Uint8Array }>): void
  /** Sends an extension message using the id the remote assigned; false when the remote lacks the extension. */
  writeExtension (name: string, payload: Uint8Array): boolean
}

export class Peer extends Emitter<PeerEvents> {
  readonly connection: Connection
  readonly #init: PeerInit
  readonly #decoder: WireDecoder
  /** Haves written, not sent yet: they go with the next write or after HAVE_BATCH_MS (Node), at the turn's end. */
  #haves: number[] = []
  /** When the last `unchoke` that was passed on arrived. */
  #unchokedAt = 0

  /** The remote peer id once the handshake arrived. */
  remotePeerId: Uint8Array | undefined
  /** Stable key: the remote peer id in hex once known, a connection counter before. */
  key: string
  amChoking = true
  amInterested = false
  peerChoking = true
  peerInterested = false
  /** The remote's pieces; undefined until we know the piece count (metadata) and it told us. */
  has: Bitfield | undefined
  /** The remote's BEP 10 handshake: its extension ids, metadata size, reqq. */
  extended: ExtendedHandshake | undefined
  supportsExtensions = false
  sentHandshake = false
  receivedHandshake = false
  lastReceivedAt = Date.now()
  lastSentAt = Date.now()
  destroyed = false

  constructor (connection: Connection, init: PeerInit, key: string) {
    super()
    this.connection = connection
    this.#init = init
    this.key = key
    this.#decoder = new WireDecoder({ maxMessageLength: init.maxMessageLength })
    connection.on('data', (chunk) => this.#onData(chunk))
    connection.on('close', () => this.destroy())
    connection.on('error', (err) => {
      this.emit('warning', err)
      this.destroy()
    })
  }

  get remotePeerIdHex (): string | undefined {
    return this.remotePeerId === undefined ? undefined : toHex(this.remotePeerId)
  }

  /** Raises the decoder's size limit once the piece count is known (a bitfield is ceil(pieces/8) bytes). */
  setMaxMessageLength (length: number): void {
    this.#decoder.maxMessageLength = length
  }

  #onData (chunk: Uint8Array): void {
    if (this.destroyed) return
    this.lastReceivedAt = Date.now()
    let items
    try {
      items = this.#decoder.push(chunk)
    } catch (err) {
      this.#fail(err as Error)
      return
    }
    for (const item of items) {
      if (this.destroyed) return
      try {
        if (item.kind === 'handshake') this.#onHandshake(item.handshake)
        else this.#onMessage(item.message)
      } catch (err) {
        this.#fail(err as Error)
        return
      }
    }
  }

  #onHandshake (handshake: Handshake): void {
    if (!equalBytes(handshake.infoHash, this.#init.infoHash)) {
      throw new ProtocolError(`handshake for another torrent (${toHex(handshake.infoHash)})`)
    }
    this.receivedHandshake = true
    this.remotePeerId = handshake.peerId
    this.supportsExtensions = (handshake.reserved[EXTENSION_RESERVED_BYTE]! & EXTENSION_RESERVED_BIT) !== 0
    // WebTorrent peers both send their handshake on connect; if the remote spoke first, we answer.
    if (!this.sentHandshake) this.writeHandshake()
    this.emit('handshake', handshake)
  }

  #onMessage (message: Message): void {
    if (!this.receivedHandshake) throw new ProtocolError(`${message.type} before the handshake`)
    switch (message.type) {
      case 'keep-alive':
        return
      case 'choke':
        this.peerChoking = true
        break
      case 'unchoke':
        this.peerChoking = false
        // The torrent fills our requests to it at once (Downloader.fill), and a fill may walk every piece: not for
        // more than one unchoke a second (a peer sending unchoke after unchoke, or choke, unchoke, ..., bought a
        // walk with each 5 bytes). The torrent's tick fills every pipeline each second anyway.
        if (this.lastReceivedAt - this.#unchokedAt < UNCHOKE_FILL_INTERVAL_MS) return
        this.#unchokedAt = this.lastReceivedAt
        break
      case 'interested':
        this.peerInterested = true
        break
      case 'not-interested':
        this.peerInterested = false
        break
      case 'extended':
        this.#onExtended(message.id, message.payload)
        return
      default:
        break
    }
    this.emit('message', message)
  }

  #onExtended (id: number, payload: Uint8Array): void {
    if (id === 0) {
      this.extended = decodeExtendedHandshake(payload)
      this.emit('extended-handshake', this.extended)
      return
    }
    for (const [name, localId] of Object.entries(LOCAL_EXTENSION_IDS)) {
      if (localId === id) {
        this.emit('extension', name as ExtensionName, payload)
        return
      }
    }
    // BEP 10: messages for an id we never assigned are ignored.
  }

  #fail (err: Error): void {
    this.emit('warning', err)
    this.destroy()
  }

  /** Puts bytes on the wire as they are (the writers here, and the serving side's: engine/wire/serving-writes.ts). */
  sendBytes (bytes: Uint8Array): void {
    if (this.destroyed) return
    this.lastSentAt = Date.now()
    // Node: haves waiting (writeHave) ride after this message, in the same send (our bitfield must come before any
    // have, and a have may follow anything).
    if (typeof PEERSITE_BROWSER === 'undefined' && this.#haves.length > 0) {
      bytes = concatBytes([bytes, ...this.#haves.map((i) => encodeMessage({ type: 'have', index: i }))])
      this.#haves = []
    }
    this.connection.send(bytes)
  }

  writeHandshake (): void {
    if (this.sentHandshake) return
    this.sentHandshake = true
    this.sendBytes(encodeHandshake({ infoHash: this.#init.infoHash, peerId: this.#init.peerId }))
  }

  writeExtendedHandshake (handshake: ExtendedHandshake): void {
    this.sendBytes(encodeMessage({ type: 'extended', id: 0, payload: encodeExtendedHandshake(handshake) }))
  }



  writeBitfield (bitfield: Bitfield): void {
    this.sendBytes(encodeMessage({ type: 'bitfield', bitfield: bitfield.bytes }))
  }

  /**
   * Node: haves wait up to HAVE_BATCH_MS and go out together, with the next message written to the peer if one comes
   * first (the wire is a byte stream: one data-channel message may hold many). While we download from a peer our
   * requests go every few pieces, so its haves ride on them: one `have` per piece was most of a Node getter's sends,
   * and each send costs both ends far more than its 9 bytes (about 0.1 ms of the sender's main thread in
   * node-datachannel, a message event and a decode at the other end). A batch's timer does nothing once the batch
   * rode on a message (a later batch has a timer of its own).
   *
   * Browser builds send the haves written in one turn together, at its end: the timer and the ride cost the loader
   * about 12 bytes gzipped, more than its budget has left (test/e2e/budget.test.ts).
   */
  writeHave (index: number): void {
    if (this.#haves.push(index) > 1) return
    if (typeof PEERSITE_BROWSER === 'undefined') {
      const batch = this.#haves
      setTimeout(() => { if (this.#haves === batch) this.sendBytes(new Uint8Array(0)) }, HAVE_BATCH_MS)
      return
    }
    queueMicrotask(() => {
      const haves = this.#haves
      this.#haves = []
      this.sendBytes(concatBytes(haves.map((i) => encodeMessage({ type: 'have', index: i }))))
    })
  }

  writeInterested (): void {
    if (this.amInterested) return
    this.amInterested = true
    this.sendBytes(encodeMessage({ type: 'interested' }))
  }

  writeNotInterested (): void {
    if (!this.amInterested) return
    this.amInterested = false
    this.sendBytes(encodeMessage({ type: 'not-interested' }))
  }

  /** Several requests in one write: the wire is a byte stream, so one data-channel message may hold many. */
  writeRequests (requests: ReadonlyArray<{ index: number, begin: number, length: number }>): void {
    this.sendBytes(encodeRequests(requests))
  }



  /** Several cancels in one write. */
  writeCancels (requests: ReadonlyArray<{ index: number, begin: number, length: number }>): void {
    if (requests.length > 0) this.sendBytes(encodeCancels(requests))
  }

  writeKeepAlive (): void {
    this.sendBytes(encodeMessage({ type: 'keep-alive' }))
  }

  destroy (): void {
    if (this.destroyed) return
    this.destroyed = true
    this.connection.close()
    this.emit('close')
    this.removeAllListeners()
  }
}

if (!(typeof PEERSITE_KEYED === 'boolean' && !PEERSITE_KEYED && PEERSITE_SERVE_LATER === true)) installServingWrites(Peer)
