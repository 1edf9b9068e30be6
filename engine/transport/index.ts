/**
 * A byte pipe to one remote peer. The wire protocol runs over it as a byte stream: message boundaries of the
 * underlying data channel mean nothing (WebTorrent splits and merges freely).
 */
import type { Emitter } from '../util/emitter.js'

export type ConnectionEvents = {
  data: [chunk: Uint8Array]
  /** bufferedAmount fell below the low-water mark: writing may resume. */
  drain: []
  close: []
  error: [err: Error]
}

/**
 * Who is at the other end, apart from the peer id it chose: a ban holds against the same remote when it comes back
 * under a new peer id (engine/peer-list.ts). Fields are filled in as they become known.
 */
export interface RemoteIdentity {
  /** IP address of the remote end of the selected ICE candidate pair (known shortly after the channel opens). */
  address?: string | undefined
  /** The remote's DTLS certificate fingerprint from its SDP, e.g. "sha-256 AB:CD:…" (known before it opens). */
  fingerprint?: string | undefined
}

/**
 * The first `a=fingerprint:` of an SDP ("sha-256 AB:CD:…", upper-cased); undefined if it has none. A remote writes
 * its SDP as it likes, and an answer's is read before the browser parses it: the expression is linear (`.*` runs to
 * the line's end and backs off over its trailing spaces only), where `(.+?)\s*$` took quadratic time on one long
 * line of spaces (200 KB: minutes of a blocked page).
 */
export function sdpFingerprint (sdp: string | undefined): string | undefined {
  return /^a=fingerprint:(.*\S)/m.exec(sdp ?? '')?.[1]?.toUpperCase()
}

export interface Connection extends Emitter<ConnectionEvents> {
  /** Whether this side started the connection (sent the WebRTC offer). */
  readonly initiator: boolean
  /** Free-form description for logs ("webrtc 10.77.0.1:5000"). */
  readonly remoteAddress: string
  /** Address and certificate of the remote, for bans; absent where the transport cannot tell (in-memory pairs). */
  readonly identity?: RemoteIdentity
  /** Bytes queued but not yet sent. */
  readonly bufferedAmount: number
  readonly closed: boolean
  send (data: Uint8Array): void
  close (): void
}

/**
 * libdatachannel (node-datachannel, webrtc-polyfill) reports the remote side closing its channel as an error, an
 * SCTP "User-Initiated Abort": that is a peer leaving, not something worth a warning.
 */
export function isRemoteClose (message: string): boolean {
  return /User-Initiated Abort|Close called/.test(message)
}
