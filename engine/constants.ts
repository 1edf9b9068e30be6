/**
 * Every tunable of the engine, with the sentence of the spec that justifies it.
 * Other modules import from here; nothing else hard-codes these numbers.
 */

/** BEP 3: "All current implementations use 2^14 (16 kiB), and close connections which request an amount greater than that." */
export const BLOCK_LENGTH = 16 * 1024

/** BEP 3 handshake: "a single byte 19 followed by the string 'BitTorrent protocol'", 8 reserved bytes, infohash, peer id. */
export const PROTOCOL_NAME = 'BitTorrent protocol'
export const HANDSHAKE_LENGTH = 1 + 19 + 8 + 20 + 20

/** BEP 10: "the extension protocol is enabled by setting the 20th bit from the right in the reserved bytes (reserved_byte[5] & 0x10)". */
export const EXTENSION_RESERVED_BYTE = 5
export const EXTENSION_RESERVED_BIT = 0x10

/**
 * The largest non-bitfield message we accept. A piece message is 9 bytes of header plus one block; extended messages
 * carry a ut_metadata piece (BEP 9: "each piece is 16kiB") plus a small bencoded dictionary.
 * A bitfield is allowed ceil(pieceCount / 8) + 1 bytes on top of this (see maxMessageLength()).
 * Anything larger closes the connection instead of allocating (a hostile peer cannot make us buffer 4 GiB).
 */
export const MAX_FIXED_MESSAGE_LENGTH = 1 + 8 + BLOCK_LENGTH + 1024

export function maxMessageLength (pieceCount: number): number {
  return Math.max(MAX_FIXED_MESSAGE_LENGTH, 1 + Math.ceil(pieceCount / 8))
}

/** BEP 3: "Keepalives are generally sent once every two minutes". */
export const KEEP_ALIVE_INTERVAL_MS = 60_000
/** A peer silent for longer than this (no message, not even a keep-alive) is dropped. */
export const PEER_IDLE_TIMEOUT_MS = 150_000

/**
 * Outstanding block requests per peer. BEP 3 notes that pipelining "several requests at once" is needed for good
 * throughput; a data channel on a LAN moves 30-95 MB/s, so 128 x 16 KiB = 2 MiB in flight keeps it busy even at a
 * 30 ms round trip. The peer's own `reqq` (BEP 10 extended handshake) lowers this.
 */
export const MAX_OUTSTANDING_REQUESTS = 128
/** What we advertise as `reqq` (BEP 10: "the number of outstanding request messages this client supports"). */
export const OUR_REQQ = 256
/** Requests queued from one peer beyond this are dropped (hostile or broken peer). */
export const MAX_QUEUED_UPLOAD_REQUESTS = 512

/** A request unanswered for this long is given back to the picker so another peer can serve it. */
export const REQUEST_TIMEOUT_MS = 15_000

/** Bytes queued on a data channel before we stop writing and wait for it to drain. */
export const SEND_HIGH_WATER_MARK = 4 * 1024 * 1024
export const SEND_LOW_WATER_MARK = 1024 * 1024
/**
 * Blocks ready to upload are sent together, up to this many bytes per data-channel message: every send has a fixed
 * cost, and data channels move 64 KiB messages fastest (ENVIRONMENT.md: 18 MB/s at 64 KiB vs 16 at 16 KiB in
 * Chromium). Chromium accepts messages up to 256 KiB, node-datachannel 64 KiB by default.
 */
export const SEND_COALESCE_BYTES = 64 * 1024

/** BEP 9: "The metadata is handled in blocks of 16KiB (16384 Bytes)." */
export const METADATA_PIECE_LENGTH = 16 * 1024
/** We refuse metadata bigger than this: a hostile peer could otherwise announce gigabytes. */
export const MAX_METADATA_SIZE = 16 * 1024 * 1024

/** Piece hashes that fail this many times from the same peer get that peer banned. */
export const MAX_HASH_FAILURES_PER_PEER = 2

/** How many connected peers one torrent keeps. */
export const MAX_PEERS = 50

/** Azureus-style peer id prefix: "-PS0100-" (peersite 0.1.0) followed by 12 random bytes. */
export const PEER_ID_PREFIX = '-PS0100-'

/** Advertised in the BEP 10 extended handshake as `v`. */
export const CLIENT_NAME = 'peersite 0.1.0'
