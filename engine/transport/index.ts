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

export interface Connection extends Emitter<ConnectionEvents> {
  /** Whether this side started the connection (sent the WebRTC offer). */
  readonly initiator: boolean
  /** Free-form description for logs ("webrtc 10.77.0.1:5000"). */
  readonly remoteAddress: string
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
