/**
 * BEP 9 (ut_metadata): fetching the info dictionary from peers, as pure logic. Messages are the payloads of BEP 10
 * `extended` messages (after the extended id byte); the peer glue sends and receives them.
 *
 * BEP 9: "The metadata is handled in blocks of 16KiB (16384 Bytes). The metadata blocks are indexed starting at 0.
 * All blocks are 16KiB except the last block which may be smaller."
 */
import { MAX_METADATA_SIZE, METADATA_PIECE_LENGTH } from '../constants.js'
import { ProtocolError } from '../errors.js'
import { BencodeError, bdecodePrefix, bencode, isDict, isInt, type BValue } from '../util/bencode.js'
import { equalBytes, sha1 } from '../util/bytes.js'

/** BEP 10 extension name advertised in the extended handshake's `m`. */
export const UT_METADATA = 'ut_metadata'

/** BEP 9: "There are 3 different kinds of messages: 0. request 1. data 2. reject". */
const MSG_REQUEST = 0
const MSG_DATA = 1
const MSG_REJECT = 2

export interface MetadataMessage {
  /**
   * 'unknown' is a msg_type this file does not know: BEP 9 says "an unrecognized message ID MUST be ignored", so it
   * is not an error (callers simply drop it).
   */
  readonly msgType: 'request' | 'data' | 'reject' | 'unknown'
  readonly piece: number
  /** data only: BEP 9 "total_size", the same meaning as the handshake's metadata_size. */
  readonly totalSize?: number
  /** data only: the metadata bytes appended after the dictionary (a view into the payload). */
  readonly data?: Uint8Array
}

/** `d8:msg_typei0e5:piecei<piece>ee` (BEP 9 request). */
export function encodeMetadataRequest (piece: number): Uint8Array {
  return bencode({ msg_type: MSG_REQUEST, piece: checkPiece(piece) })
}

/** `d8:msg_typei2e5:piecei<piece>ee` (BEP 9 reject: "the peer does not have the piece of metadata that was requested"). */
export function encodeMetadataReject (piece: number): Uint8Array {
  return bencode({ msg_type: MSG_REJECT, piece: checkPiece(piece) })
}

/**
 * `d8:msg_typei1e5:piecei<piece>e10:total_sizei<size>ee<bytes>` (BEP 9 data: "The metadata piece is appended to the
 * bencoded dictionary, it is not a part of the dictionary, but it is a part of the message").
 */
export function encodeMetadataData (piece: number, totalSize: number, bytes: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(totalSize) || totalSize <= 0) throw new RangeError(`invalid total size ${totalSize}`)
  if (bytes.length > METADATA_PIECE_LENGTH) throw new RangeError(`metadata piece of ${bytes.length} bytes exceeds ${METADATA_PIECE_LENGTH}`)
  const head = bencode({ msg_type: MSG_DATA, piece: checkPiece(piece), total_size: totalSize })
  const out = new Uint8Array(head.length + bytes.length)
  out.set(head)
  out.set(bytes, head.length)
  return out
}

/**
 * Parses a ut_metadata payload. Throws ProtocolError when the dictionary is malformed or lacks a valid
 * msg_type/piece, when a data message lacks total_size, or when a request/reject carries trailing bytes.
 */
export function decodeMetadataMessage (payload: Uint8Array): MetadataMessage {
  let dict: BValue
  let length: number
  try {
    ({ value: dict, length } = bdecodePrefix(payload))
  } catch (err) {
    if (err instanceof BencodeError) throw new ProtocolError(`ut_metadata: ${err.message}`, { cause: err })
    throw err
  }
  if (!isDict(dict)) throw new ProtocolError('ut_metadata: message is not a dictionary')
  const msgType = Object.hasOwn(dict, 'msg_type') ? dict.msg_type : undefined
  const piece = Object.hasOwn(dict, 'piece') ? dict.piece : undefined
  if (!isInt(msgType)) throw new ProtocolError('ut_metadata: msg_type is missing or not an integer')
  if (!isInt(piece) || piece < 0) throw new ProtocolError('ut_metadata: piece is missing or not a non-negative integer')

  switch (msgType) {
    case MSG_REQUEST:
    case MSG_REJECT:
      if (length !== payload.length) throw new ProtocolError(`ut_metadata: ${payload.length - length} bytes after a ${msgType === MSG_REQUEST ? 'request' : 'reject'}`)
      return { msgType: msgType === MSG_REQUEST ? 'request' : 'reject', piece }
    case MSG_DATA: {
      const totalSize = Object.hasOwn(dict, 'total_size') ? dict.total_size : undefined
      if (!isInt(totalSize) || totalSize <= 0) throw new ProtocolError('ut_metadata: data message without a valid total_size')
      return { msgType: 'data', piece, totalSize, data: payload.subarray(length) }
    }
    default:
      return { msgType: 'unknown', piece }
  }
}

/** The number of 16 KiB metadata pieces for an info dictionary of `size` bytes. */
export function metadataPieceCount (size: number): number {
  return Math.ceil(size / METADATA_PIECE_LENGTH)
}

/** Piece `piece` of the info dictionary we hold, for answering a request; undefined when out of range. */
export function metadataPiece (info: Uint8Array, piece: number): Uint8Array | undefined {
  if (!Number.isInteger(piece) || piece < 0 || piece >= metadataPieceCount(info.length)) return undefined
  const start = piece * METADATA_PIECE_LENGTH
  return info.subarray(start, Math.min(start + METADATA_PIECE_LENGTH, info.length))
}

export interface MetadataAssemblerInit {
  /** The 20-byte infohash the assembled metadata must hash to. */
  infoHash: Uint8Array
  /** The metadata_size a peer announced (BEP 9, extended handshake). */
  size: number
}

/**
 * Collects metadata pieces from any number of peers until the whole info dictionary is in and hashes to the
 * infohash. Tracks which pieces are requested so that several peers can be asked for different pieces.
 */
export class MetadataAssembler {
  readonly infoHash: Uint8Array
  readonly size: number
  readonly pieceCount: number
  #pieces: Array<Uint8Array | undefined>
  #requested: boolean[]
  #received = 0

  /** Throws ProtocolError for a size a peer should not announce (<= 0, not an integer, over MAX_METADATA_SIZE). */
  constructor (init: MetadataAssemblerInit) {
    if (init.infoHash.length !== 20) throw new RangeError(`infoHash must be 20 bytes, got ${init.infoHash.length}`)
    MetadataAssembler.checkSize(init.size)
    this.infoHash = init.infoHash
    this.size = init.size
    this.pieceCount = metadataPieceCount(init.size)
    this.#pieces = new Array<Uint8Array | undefined>(this.pieceCount).fill(undefined)
    this.#requested = new Array<boolean>(this.pieceCount).fill(false)
  }

  /** Throws ProtocolError for a size a peer should not announce (<= 0, not an integer, over MAX_METADATA_SIZE). */
  static checkSize (size: number): void {
    // The size comes from a peer's handshake: refuse absurd values before allocating anything for them.
    if (!Number.isSafeInteger(size) || size <= 0 || size > MAX_METADATA_SIZE) {
      throw new ProtocolError(`invalid metadata size ${size} (limit ${MAX_METADATA_SIZE})`)
    }
  }

  /** Pieces received so far. */
  get received (): number { return this.#received }
  get complete (): boolean { return this.#received === this.pieceCount }

  has (piece: number): boolean { return this.#pieces[piece] !== undefined }

  /** The lowest piece neither received nor requested, or undefined when every missing piece is in flight. */
  nextMissing (): number | undefined {
    for (let i = 0; i < this.pieceCount; i++) {
      if (this.#pieces[i] === undefined && this.#requested[i] !== true) return i
    }
    return undefined
  }

  markRequested (piece: number): void {
    this.#checkIndex(piece)
    this.#requested[piece] = true
  }

  /** After a reject, a timeout or a disconnect: the piece may be asked of another peer. */
  releaseRequested (piece: number): void {
    this.#checkIndex(piece)
    this.#requested[piece] = false
  }

  /**
   * Stores a received piece. Returns true when it is new, false for a duplicate (ignored). Throws ProtocolError for a
   * piece index out of range or a wrong length (BEP 9: "If it is not the last piece of the metadata, it MUST be
   * 16kiB"; the last one is the remainder).
   */
  add (piece: number, data: Uint8Array): boolean {
    this.#checkIndex(piece)
    const expected = piece === this.pieceCount - 1 ? this.size - piece * METADATA_PIECE_LENGTH : METADATA_PIECE_LENGTH
    if (data.length !== expected) throw new ProtocolError(`metadata piece ${piece} has ${data.length} bytes, expected ${expected}`)
    this.#requested[piece] = false
    if (this.#pieces[piece] !== undefined) return false
    // Copied: data is usually a view into a wire chunk, and we keep it until verification.
    this.#pieces[piece] = data.slice()
    this.#received++
    return true
  }

  /**
   * Once complete: the info dictionary if its SHA-1 equals the infohash. Otherwise every piece is dropped and
   * undefined returned (one of the senders lied; the caller decides whom to blame). Calling it before all pieces are
   * in is API misuse.
   */
  async verify (): Promise<Uint8Array | undefined> {
    if (!this.complete) throw new Error(`metadata incomplete: ${this.#received}/${this.pieceCount} pieces`)
    const info = new Uint8Array(this.size)
    for (let i = 0; i < this.pieceCount; i++) info.set(this.#pieces[i]!, i * METADATA_PIECE_LENGTH)
    const digest = await sha1(info)
    if (equalBytes(digest, this.infoHash)) return info
    this.reset()
    return undefined
  }

  /** Forgets every received and requested piece. */
  reset (): void {
    this.#pieces.fill(undefined)
    this.#requested.fill(false)
    this.#received = 0
  }

  #checkIndex (piece: number): void {
    if (!Number.isInteger(piece) || piece < 0 || piece >= this.pieceCount) {
      throw new ProtocolError(`metadata piece ${piece} out of range (0..${this.pieceCount - 1})`)
    }
  }
}

function checkPiece (piece: number): number {
  if (!Number.isSafeInteger(piece) || piece < 0) throw new RangeError(`invalid metadata piece ${piece}`)
  return piece
}
