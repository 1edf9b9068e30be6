/**
 * Typed errors. A misbehaving peer or tracker produces a `warning` event carrying one of these and the peer is
 * dropped or banned; only API misuse throws to the caller.
 */

export class PeersiteError extends Error {
  readonly code: string
  constructor (message: string, code: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'PeersiteError'
    this.code = code
  }
}

/** The remote side broke the wire protocol (bad handshake, oversized or malformed message). */
export class ProtocolError extends PeersiteError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_PROTOCOL', options)
    this.name = 'ProtocolError'
  }
}

/** A piece whose SHA-1 does not match the info dictionary. */
export class HashMismatchError extends PeersiteError {
  constructor (readonly index: number) {
    super(`piece ${index} failed its hash check`, 'ERR_HASH_MISMATCH')
    this.name = 'HashMismatchError'
  }
}

/** A torrent file, info dictionary or magnet link that is malformed or unsafe. */
export class InvalidTorrentError extends PeersiteError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_INVALID_TORRENT', options)
    this.name = 'InvalidTorrentError'
  }
}

/** A read or operation was aborted through its AbortSignal. */
export class AbortError extends PeersiteError {
  constructor (message = 'the operation was aborted') {
    super(message, 'ABORT_ERR')
    this.name = 'AbortError'
  }
}

/**
 * Work cut short by a signal (`SIGINT`, `SIGTERM`): the CLI exits 128 + its number (cli/lib/signals.ts). Here, not
 * beside the signal handling, because this file is the one copy of the error classes that every CLI bundle shares
 * (scripts/bundle-cli.mjs): the entry point's `instanceof` must know the class whichever file threw it.
 */
export class InterruptedError extends PeersiteError {
  constructor (message: string, readonly signal: string) {
    super(message, 'ERR_INTERRUPTED')
    this.name = 'InterruptedError'
  }
}

/** A piece store cannot satisfy a request (missing piece, out of range, quota). */
export class StorageError extends PeersiteError {
  constructor (message: string, code = 'ERR_STORAGE', options?: { cause?: unknown }) {
    super(message, code, options)
    this.name = 'StorageError'
  }
}

/**
 * Whether a store's failed read of a piece it was said to hold means the piece is lost (unreadable, or gone: WebKit's
 * IndexedDB loses Blobs, README "Browsers"), to be fetched again; not when the store is closed (the torrent is going
 * away) or the read was aborted.
 */
export const pieceLost = (err: unknown): boolean => err instanceof StorageError && err.code !== 'ERR_CLOSED'

/** Bad input from the user of the CLI or API: reported as one line and a non-zero exit. */
export class UsageError extends PeersiteError {
  constructor (message: string) {
    super(message, 'ERR_USAGE')
    this.name = 'UsageError'
  }
}

/**
 * A command line that is wrong in itself, whatever the files and the network hold: an unknown option, a value that
 * cannot be right (`--port abc`, `--piece-length 3KiB`, a tracker URL that is not one), options that exclude each
 * other. The CLI exits 2 for it, as for what its parser refuses; a UsageError that depends on the world (a folder
 * that does not exist, a port in use) exits 1.
 */
export class ArgumentError extends UsageError {
  constructor (message: string) {
    super(message)
    this.name = 'ArgumentError'
  }
}

/**
 * A signed pointer record (engine/pointer) that is refused: `invalid` (malformed, oversize, bad signature, wrong
 * key), `rollback` (a lower seq than one already verified for this key) or `fork` (two different records with the
 * same seq: the key signed two versions, and neither can be trusted over the other).
 */
export class PointerError extends PeersiteError {
  constructor (readonly reason: 'invalid' | 'rollback' | 'fork', message: string, options?: { cause?: unknown }) {
    super(message, `ERR_POINTER_${reason.toUpperCase()}`, options)
    this.name = 'PointerError'
  }
}

/**
 * A web seed (BEP 19) that answered with bytes that fail their piece's hash, or a file of the wrong size: BEP 19 says
 * "the connection must be closed and that URL should be discarded".
 */
export class WebSeedError extends PeersiteError {
  constructor (readonly url: string, message: string) {
    super(`web seed ${url}: ${message}`, 'ERR_WEB_SEED')
    this.name = 'WebSeedError'
  }
}

/** An HTTP or UDP tracker that failed, refused us (`failure reason`) or answered something unreadable: a warning. */
export class TrackerError extends PeersiteError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_TRACKER', options)
    this.name = 'TrackerError'
  }
}

/** A section of a site's sectioned index (worker/site-index.ts) that is not the one its root names, or is malformed. */
export class SiteIndexError extends PeersiteError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_SITE_INDEX', options)
    this.name = 'SiteIndexError'
  }
}
