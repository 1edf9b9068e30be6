/**
 * The peer's writers that only the serving side uses (choke and unchoke, piece messages: engine/serving-side.ts and
 * engine/upload.ts; extension messages: BEP 9, the pointer exchange, PEX). Peer gets them at once in Node and every
 * browser build but a plain site's own loader, where Torrent.serve brings them with the rest of the serving side's
 * code after the first page (engine/serving.ts): nothing there writes them before.
 *
 * Self-contained (no import of the wire codec): peersite-later.js shares no code with peersite.js.
 */
import { CHECK_ARGS } from '../constants.js'
import type { Peer } from './peer.js'

/** BEP 3 `piece`'s message id. */
const PIECE = 7

/**
 * Several `piece` messages back to back in one buffer, <len=9+X><id=7><index><begin><block: X bytes> each: the same
 * bytes as concatenating encodeMessage() of each, in one allocation with each block copied once (the uploader sends
 * them as one data-channel message).
 */
export function encodePieces (blocks: ReadonlyArray<{ readonly index: number, readonly begin: number, readonly block: Uint8Array }>): Uint8Array {
  let total = 0
  for (const { block } of blocks) total += 13 + block.length
  const bytes = new Uint8Array(total)
  const view = new DataView(bytes.buffer)
  let at = 0
  for (const { index, begin, block } of blocks) {
    // Our own callers' values (the uploader answers only requests it checked): API misuse, as in the codec (CHECK_ARGS).
    if (CHECK_ARGS && (!isUint32(index) || !isUint32(begin))) throw new RangeError(`piece ${index}:${begin} is not two uint32`)
    view.setUint32(at, 9 + block.length)
    bytes[at + 4] = PIECE
    view.setUint32(at + 5, index)
    view.setUint32(at + 9, begin)
    bytes.set(block, at + 13)
    at += 13 + block.length
  }
  return bytes
}

const isUint32 = (value: number): boolean => Number.isInteger(value) && value >= 0 && value <= 0xffffffff

/** The writers, as Peer's methods (installServingWrites). */
const writes: ThisType<Peer> & Pick<Peer, 'writeChoke' | 'writeUnchoke' | 'writePieces' | 'writeExtension'> = {
  writeChoke () {
    if (this.amChoking) return
    this.amChoking = true
    // <len=1><id=0>
    this.sendBytes(Uint8Array.of(0, 0, 0, 1, 0))
  },

  writeUnchoke () {
    if (!this.amChoking) return
    this.amChoking = false
    // <len=1><id=1>
    this.sendBytes(Uint8Array.of(0, 0, 0, 1, 1))
  },

  /** Several blocks in one write (the uploader coalesces the blocks it has ready). */
  writePieces (blocks) {
    this.sendBytes(encodePieces(blocks))
  },

  /** Sends an extension message using the id the remote assigned; false when the remote lacks the extension. */
  writeExtension (name, payload) {
    const id = this.extended?.m[name]
    if (id === undefined || id === 0) return false
    // <len=2+X><id=20><extended id><payload: X bytes> (BEP 10)
    const bytes = new Uint8Array(6 + payload.length)
    new DataView(bytes.buffer).setUint32(0, 2 + payload.length)
    bytes[4] = 20
    bytes[5] = id
    bytes.set(payload, 6)
    this.sendBytes(bytes)
    return true
  }
}

/** Gives Peer (the class) the serving side's writers (idempotent). */
export function installServingWrites (PeerClass: typeof Peer): void {
  Object.assign(PeerClass.prototype, writes)
}
