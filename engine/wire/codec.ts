/**
 * The peer wire protocol as pure bytes <-> typed messages (BEP 3, plus the `extended` message of BEP 10).
 * No sockets, no state beyond the decoder's buffer: peer.ts gives the messages meaning.
 *
 * BEP 3: "All later integers sent in the protocol are encoded as four bytes big-endian", and "messages ... take the
 * form of <length prefix><message ID><payload>. The length prefix is a four byte big-endian value."
 */
import {
  CHECK_ARGS,
  EXTENSION_RESERVED_BIT,
  EXTENSION_RESERVED_BYTE,
  HANDSHAKE_LENGTH,
  PROTOCOL_NAME
} from '../constants.js'
import { ProtocolError } from '../errors.js'
import { utf8 } from '../util/bytes.js'
import { MessageId, type Handshake, type Message } from './messages.js'
import { encodePieces } from './serving-writes.js'

/** Several `piece` messages in one buffer (engine/wire/serving-writes.ts, which the serving side's code brings). */
export { encodePieces }

/** Defined true in the browser builds (scripts/build-browser.mjs): encoders nothing there uses drop out. */
declare const PEERSITE_BROWSER: boolean | undefined

const PSTR = utf8.encode(PROTOCOL_NAME)
const RESERVED_LENGTH = 8
const HASH_LENGTH = 20
const PEER_ID_LENGTH = 20
const UINT32_MAX = 0xffffffff

// ---------------------------------------------------------------------------------------------------------------
// Reserved bytes (BEP 10)

/**
 * Sets the BEP 10 bit in 8 reserved handshake bytes, in place, and returns them.
 * BEP 10: "The bit selected for the extension protocol is bit 20 from the right ... (reserved_byte[5] & 0x10)".
 */
export function setExtensionBit (reserved: Uint8Array): Uint8Array {
  if (CHECK_ARGS && reserved.length !== RESERVED_LENGTH) throw new RangeError(`reserved bytes must be ${RESERVED_LENGTH} long, got ${reserved.length}`)
  reserved[EXTENSION_RESERVED_BYTE] = reserved[EXTENSION_RESERVED_BYTE]! | EXTENSION_RESERVED_BIT
  return reserved
}

/** Whether the remote handshake's reserved bytes advertise the BEP 10 extension protocol. */
export function supportsExtensions (reserved: Uint8Array): boolean {
  return ((reserved[EXTENSION_RESERVED_BYTE] ?? 0) & EXTENSION_RESERVED_BIT) !== 0
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

/**
 * The 68-byte handshake (BEP 3):
 *
 *   offset  size  field
 *   0       1     pstrlen = 19
 *   1       19    pstr    = "BitTorrent protocol"
 *   20      8     reserved (default: only the BEP 10 bit, reserved[5] = 0x10)
 *   28      20    info_hash (SHA-1 of the bencoded info dictionary)
 *   48      20    peer_id
 */
export function encodeHandshake (h: { infoHash: Uint8Array, peerId: Uint8Array, reserved?: Uint8Array }): Uint8Array {
  if (CHECK_ARGS && h.infoHash.length !== HASH_LENGTH) throw new RangeError(`infoHash must be ${HASH_LENGTH} bytes, got ${h.infoHash.length}`)
  if (CHECK_ARGS && h.peerId.length !== PEER_ID_LENGTH) throw new RangeError(`peerId must be ${PEER_ID_LENGTH} bytes, got ${h.peerId.length}`)
  const reserved = h.reserved ?? setExtensionBit(new Uint8Array(RESERVED_LENGTH))
  if (CHECK_ARGS && reserved.length !== RESERVED_LENGTH) throw new RangeError(`reserved must be ${RESERVED_LENGTH} bytes, got ${reserved.length}`)
  const out = new Uint8Array(HANDSHAKE_LENGTH)
  out[0] = PSTR.length
  out.set(PSTR, 1)
  out.set(reserved, 1 + PSTR.length)
  out.set(h.infoHash, 1 + PSTR.length + RESERVED_LENGTH)
  out.set(h.peerId, 1 + PSTR.length + RESERVED_LENGTH + HASH_LENGTH)
  return out
}

/**
 * One message with its length prefix. All integers are big-endian uint32 unless noted; `len` counts the id byte and
 * the payload but not itself (BEP 3).
 *
 *   keep-alive      <len=0>                                         (no id, no payload)
 *   choke           <len=1><id=0>
 *   unchoke         <len=1><id=1>
 *   interested      <len=1><id=2>
 *   not-interested  <len=1><id=3>
 *   have            <len=5><id=4><index>
 *   bitfield        <len=1+X><id=5><bitfield: X bytes, high bit of byte 0 = piece 0>
 *   request         <len=13><id=6><index><begin><length>
 *   piece           <len=9+X><id=7><index><begin><block: X bytes>
 *   cancel          <len=13><id=8><index><begin><length>
 *   port            <len=3><id=9><listen-port: uint16>              (BEP 5)
 *   extended        <len=2+X><id=20><extended id: uint8><payload: X bytes>   (BEP 10; id 0 = extended handshake)
 *   unknown         <len=1+X><id><payload: X bytes>                 (passed through, e.g. for tests)
 *
 * Each message is built in exactly one allocation; a piece's block is copied once, straight into the frame.
 * Out-of-range fields are API misuse and throw RangeError.
 */
export function encodeMessage (m: Message): Uint8Array {
  switch (m.type) {
    case 'keep-alive':
      return new Uint8Array(4)
    case 'choke':
    case 'unchoke':
      // The browser's serving side writes these itself (engine/wire/serving-writes.ts).
      if (typeof PEERSITE_BROWSER !== 'undefined') throw new RangeError(m.type)
      return frame(m.type === 'choke' ? MessageId.choke : MessageId.unchoke, 0).bytes
    case 'interested':
      return frame(MessageId.interested, 0).bytes
    case 'not-interested':
      return frame(MessageId.notInterested, 0).bytes
    case 'have': {
      const f = frame(MessageId.have, 4)
      f.view.setUint32(5, u32(m.index, 'index'))
      return f.bytes
    }
    case 'bitfield': {
      const f = frame(MessageId.bitfield, m.bitfield.length)
      f.bytes.set(m.bitfield, 5)
      return f.bytes
    }
    // One layout each with the batch encoders below: one copy of the code in every bundle.
    case 'request':
    case 'cancel':
      return encodeBlockRefs(m.type === 'request' ? MessageId.request : MessageId.cancel, [m])
    case 'piece':
      // The uploader's (engine/upload.ts) batches go by Peer.writePieces; the browser builds leave this one out.
      if (typeof PEERSITE_BROWSER === 'undefined') return encodePieces([m])
      throw new RangeError(m.type)
    case 'port': {
      // Nothing sends these two from a browser (the DHT's port, tests' raw ids): the browser builds leave them out.
      if (typeof PEERSITE_BROWSER !== 'undefined') throw new RangeError(m.type)
      if (!Number.isInteger(m.port) || m.port < 0 || m.port > 0xffff) throw new RangeError(`port out of range: ${m.port}`)
      const f = frame(MessageId.port, 2)
      f.view.setUint16(5, m.port)
      return f.bytes
    }
    case 'extended': {
      if (CHECK_ARGS && (!Number.isInteger(m.id) || m.id < 0 || m.id > 0xff)) throw new RangeError(`extended message id out of range: ${m.id}`)
      const f = frame(MessageId.extended, 1 + m.payload.length)
      f.bytes[5] = m.id
      f.bytes.set(m.payload, 6)
      return f.bytes
    }
    case 'unknown': {
      if (typeof PEERSITE_BROWSER !== 'undefined') throw new RangeError(m.type)
      if (!Number.isInteger(m.id) || m.id < 0 || m.id > 0xff) throw new RangeError(`message id out of range: ${m.id}`)
      const f = frame(m.id, m.payload.length)
      f.bytes.set(m.payload, 5)
      return f.bytes
    }
  }
}

/** Several `request` messages back to back in one buffer (same bytes as concatenating encodeMessage() of each). */
export function encodeRequests (requests: ReadonlyArray<{ readonly index: number, readonly begin: number, readonly length: number }>): Uint8Array {
  return encodeBlockRefs(MessageId.request, requests)
}

/** Several `cancel` messages back to back (the downloader withdraws a batch of requests at once). */
export function encodeCancels (requests: ReadonlyArray<{ readonly index: number, readonly begin: number, readonly length: number }>): Uint8Array {
  return encodeBlockRefs(MessageId.cancel, requests)
}

/** `request` and `cancel` share one layout: <len=13><id><index><begin><length>. */
function encodeBlockRefs (id: number, refs: ReadonlyArray<{ readonly index: number, readonly begin: number, readonly length: number }>): Uint8Array {
  const bytes = new Uint8Array(17 * refs.length)
  const view = new DataView(bytes.buffer)
  let at = 0
  for (const { index, begin, length } of refs) {
    view.setUint32(at, 13)
    bytes[at + 4] = id
    view.setUint32(at + 5, u32(index, 'index'))
    view.setUint32(at + 9, u32(begin, 'begin'))
    view.setUint32(at + 13, u32(length, 'length'))
    at += 17
  }
  return bytes
}

/** Allocates <len = 1 + payloadLength><id> followed by room for the payload at offset 5. */
function frame (id: number, payloadLength: number): { bytes: Uint8Array, view: DataView } {
  const bytes = new Uint8Array(5 + payloadLength)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, 1 + payloadLength)
  bytes[4] = id
  return { bytes, view }
}

function u32 (value: number, name: string): number {
  if (CHECK_ARGS && (!Number.isInteger(value) || value < 0 || value > UINT32_MAX)) throw new RangeError(`${name} is not a uint32: ${value}`)
  return value
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

export type DecodedItem =
  | { readonly kind: 'handshake', readonly handshake: Handshake }
  | { readonly kind: 'message', readonly message: Message }

export interface WireDecoderInit {
  /**
   * The largest length prefix accepted (id byte + payload). Start with MAX_FIXED_MESSAGE_LENGTH and raise it to
   * maxMessageLength(pieceCount) once the piece count is known, so a bitfield fits.
   */
  maxMessageLength: number
  /** Whether the stream starts with the 68-byte BEP 3 handshake. Default true. */
  expectHandshake?: boolean
}

/**
 * Incremental decoder for one direction of a connection. A data channel (or TCP) carries the wire as a byte stream,
 * so chunk boundaries mean nothing: a push may hold half a length prefix or a dozen messages.
 *
 * Pushed chunks are queued, not concatenated; a message lying inside one chunk is returned as a view of it (no copy:
 * 16 KiB blocks pass through at line rate), one spanning chunks is copied once. So the decoder takes ownership of
 * pushed chunks: do not write to them afterwards.
 *
 * Any violation throws ProtocolError, and every later push rethrows it: the byte stream cannot be resynchronised.
 */
export class WireDecoder {
  #max: number
  #expectHandshake: boolean
  /** Queued chunks; those before #head are consumed (kept until compaction so removal is not O(n) per message). */
  #chunks: Uint8Array[] = []
  #head = 0
  /** Bytes of chunks[#head] already consumed. */
  #offset = 0
  #buffered = 0
  /** The length prefix of the message whose body we are waiting for. */
  #pending: number | undefined
  #error: ProtocolError | undefined

  constructor (init: WireDecoderInit) {
    this.#max = checkMax(init.maxMessageLength)
    this.#expectHandshake = init.expectHandshake ?? true
  }

  get maxMessageLength (): number { return this.#max }
  /** May be raised (or lowered) at any time; it applies to the next length prefix read. */
  set maxMessageLength (value: number) { this.#max = checkMax(value) }

  /** Bytes received but not yet returned as items. */
  get buffered (): number { return this.#buffered }
  /** The error that stopped this decoder, if any. */
  get error (): ProtocolError | undefined { return this.#error }

  push (chunk: Uint8Array): DecodedItem[] {
    if (this.#error !== undefined) throw this.#error
    if (chunk.length > 0) {
      this.#chunks.push(chunk)
      this.#buffered += chunk.length
    }
    const out: DecodedItem[] = []
    try {
      for (;;) {
        const item = this.#next()
        if (item === undefined) break
        out.push(item)
      }
    } catch (err) {
      // Anything else escaping here would be our bug; still report it as the peer's stream being unusable.
      this.#error = err instanceof ProtocolError ? err : new ProtocolError(`wire decoder failed: ${String(err)}`, { cause: err })
      this.#chunks = []
      this.#head = 0
      this.#offset = 0
      this.#buffered = 0
      throw this.#error
    }
    return out
  }

  /** One item if enough bytes are buffered, else undefined. */
  #next (): DecodedItem | undefined {
    if (this.#expectHandshake) {
      // Check pstrlen and pstr as soon as the bytes arrive, so a peer speaking another protocol fails fast.
      const known = Math.min(this.#buffered, 1 + PSTR.length)
      for (let i = 0; i < known; i++) {
        const b = this.#peek(i)
        if (i === 0 ? b !== PSTR.length : b !== PSTR[i - 1]) {
          throw new ProtocolError(i === 0 ? `bad handshake: pstrlen ${b}, expected ${PSTR.length}` : 'bad handshake: protocol string is not "BitTorrent protocol"')
        }
      }
      if (this.#buffered < HANDSHAKE_LENGTH) return undefined
      // Copied: the handshake outlives the connection's first chunk in peer state, and it is only 68 bytes.
      const bytes = this.#read(HANDSHAKE_LENGTH).slice()
      this.#expectHandshake = false
      const start = 1 + PSTR.length
      return {
        kind: 'handshake',
        handshake: {
          reserved: bytes.subarray(start, start + RESERVED_LENGTH),
          infoHash: bytes.subarray(start + RESERVED_LENGTH, start + RESERVED_LENGTH + HASH_LENGTH),
          peerId: bytes.subarray(start + RESERVED_LENGTH + HASH_LENGTH, HANDSHAKE_LENGTH)
        }
      }
    }

    if (this.#pending === undefined) {
      if (this.#buffered < 4) return undefined
      const length = ((this.#peek(0) << 24) | (this.#peek(1) << 16) | (this.#peek(2) << 8) | this.#peek(3)) >>> 0
      // Refuse before buffering a single byte of the body: a hostile peer must not make us hold 4 GiB.
      if (length > this.#max) throw new ProtocolError(`message length ${length} exceeds the limit of ${this.#max}`)
      this.#skip(4)
      if (length === 0) return { kind: 'message', message: { type: 'keep-alive' } }
      this.#pending = length
    }
    if (this.#buffered < this.#pending) return undefined
    const body = this.#read(this.#pending)
    this.#pending = undefined
    return { kind: 'message', message: decodeBody(body) }
  }

  /** Byte `i` past the read position; the caller has checked that it is buffered. */
  #peek (i: number): number {
    let index = this.#head
    let at = this.#offset + i
    for (;;) {
      const chunk = this.#chunks[index]!
      if (at < chunk.length) return chunk[at]!
      at -= chunk.length
      index++
    }
  }

  #skip (n: number): void {
    this.#buffered -= n
    while (n > 0) {
      const chunk = this.#chunks[this.#head]!
      const left = chunk.length - this.#offset
      if (n < left) {
        this.#offset += n
        return
      }
      n -= left
      this.#advanceChunk()
    }
  }

  /** The next n (> 0, buffered) bytes: a view when they lie in one chunk, else one copy. */
  #read (n: number): Uint8Array {
    const first = this.#chunks[this.#head]!
    if (first.length - this.#offset >= n) {
      const view = first.subarray(this.#offset, this.#offset + n)
      this.#skip(n)
      return view
    }
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.#chunks[this.#head]!
      const take = Math.min(n - filled, chunk.length - this.#offset)
      out.set(chunk.subarray(this.#offset, this.#offset + take), filled)
      filled += take
      this.#buffered -= take
      if (this.#offset + take === chunk.length) this.#advanceChunk()
      else this.#offset += take
    }
    return out
  }

  #advanceChunk (): void {
    this.#head++
    this.#offset = 0
    // Drop consumed chunks in batches (amortised O(1)): byte-by-byte pushes would otherwise make shift() quadratic.
    if (this.#head === this.#chunks.length) {
      this.#chunks = []
      this.#head = 0
    } else if (this.#head >= 64 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head)
      this.#head = 0
    }
  }
}

function checkMax (value: number): number {
  if (CHECK_ARGS && (!Number.isInteger(value) || value < 1 || value > UINT32_MAX)) throw new RangeError(`maxMessageLength must be a positive uint32, got ${value}`)
  return value
}

/** A message body: id byte and payload, the length prefix already stripped (body.length >= 1). */
function decodeBody (body: Uint8Array): Message {
  const id = body[0]!
  const payload = body.subarray(1)
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength)
  const expect = (name: string, ok: boolean): void => {
    if (!ok) throw new ProtocolError(`${name} message with a payload of ${payload.length} bytes`)
  }
  switch (id) {
    case MessageId.choke:
      expect('choke', payload.length === 0)
      return { type: 'choke' }
    case MessageId.unchoke:
      expect('unchoke', payload.length === 0)
      return { type: 'unchoke' }
    case MessageId.interested:
      expect('interested', payload.length === 0)
      return { type: 'interested' }
    case MessageId.notInterested:
      expect('not-interested', payload.length === 0)
      return { type: 'not-interested' }
    case MessageId.have:
      expect('have', payload.length === 4)
      return { type: 'have', index: view.getUint32(1) }
    case MessageId.bitfield:
      // Its exact length depends on the piece count, which only peer.ts knows (Bitfield.isValidPayload).
      return { type: 'bitfield', bitfield: payload }
    case MessageId.request:
    case MessageId.cancel:
      expect(id === MessageId.request ? 'request' : 'cancel', payload.length === 12)
      return {
        type: id === MessageId.request ? 'request' : 'cancel',
        index: view.getUint32(1),
        begin: view.getUint32(5),
        length: view.getUint32(9)
      }
    case MessageId.piece:
      // An empty block is odd but not malformed; peer.ts rejects blocks it did not request.
      expect('piece', payload.length >= 8)
      return { type: 'piece', index: view.getUint32(1), begin: view.getUint32(5), block: payload.subarray(8) }
    case MessageId.port:
      expect('port', payload.length === 2)
      return { type: 'port', port: view.getUint16(1) }
    case MessageId.extended:
      // BEP 10: the payload starts with the extended message id; there is always at least that byte.
      expect('extended', payload.length >= 1)
      return { type: 'extended', id: payload[0]!, payload: payload.subarray(1) }
    default:
      // BEP 3 now also lists 16 (reject) and 21-23 (v2 hash messages), BEP 6 adds more; we implement none of them.
      // The length prefix lets us skip such a message exactly, so it is passed up for peer.ts to ignore, not fatal.
      return { type: 'unknown', id, payload }
  }
}
