/**
 * The messages of the peer wire protocol (BEP 3) and the extension protocol (BEP 10), as one discriminated union.
 * codec.ts turns bytes into these and back; peer.ts gives them meaning.
 */

/** BEP 3 message ids ("All non-keepalive messages start with a single byte which gives their type"). */
export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  /** BEP 5: DHT port. Decoded and ignored (WebRTC peers have no DHT). */
  port: 9,
  /** BEP 10: "extended" message, first payload byte is the extended message id. */
  extended: 20
} as const

export interface Handshake {
  /** 8 bytes; BEP 10 sets reserved[5] & 0x10. */
  readonly reserved: Uint8Array
  readonly infoHash: Uint8Array
  readonly peerId: Uint8Array
}

export type Message =
  | { readonly type: 'keep-alive' }
  | { readonly type: 'choke' }
  | { readonly type: 'unchoke' }
  | { readonly type: 'interested' }
  | { readonly type: 'not-interested' }
  | { readonly type: 'have', readonly index: number }
  | { readonly type: 'bitfield', readonly bitfield: Uint8Array }
  | { readonly type: 'request', readonly index: number, readonly begin: number, readonly length: number }
  | { readonly type: 'piece', readonly index: number, readonly begin: number, readonly block: Uint8Array }
  | { readonly type: 'cancel', readonly index: number, readonly begin: number, readonly length: number }
  | { readonly type: 'port', readonly port: number }
  /** BEP 10: id 0 is the extended handshake; other ids are those the receiver assigned in its handshake's `m`. */
  | { readonly type: 'extended', readonly id: number, readonly payload: Uint8Array }
  /** A message id we do not implement (e.g. BEP 6 fast extension): skipped, per BEP 3 unknown ids are ignored. */
  | { readonly type: 'unknown', readonly id: number, readonly payload: Uint8Array }

export type MessageType = Message['type']

/** The BEP 10 extended handshake dictionary, the fields we read and write. */
export interface ExtendedHandshake {
  /** Extension name -> the id the sender wants to receive that extension's messages with (0 = disabled). */
  readonly m: Record<string, number>
  /** BEP 9: size of the info dictionary in bytes, when the sender has it. */
  readonly metadataSize?: number
  /** Client name and version (not read in the browser builds: engine/wire/extended.ts). */
  readonly v?: string
  /** Outstanding requests the sender supports. */
  readonly reqq?: number
  /** BEP 10 `p`: the sender's TCP listening port (a peer that connected to us can be dialled back there, and passed on by PEX; not read in the browser builds). */
  readonly p?: number
}
