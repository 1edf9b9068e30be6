/**
 * Where peers come from. A discovery source emits ready connections; the torrent does the rest.
 * Today: WebSocket trackers (tracker.ts). Later: ut_pex, web seeds, the DHT on the hybrid seeder.
 */
import type { Connection } from '../transport/index.js'
import type { Emitter } from '../util/emitter.js'

export type DiscoveryEvents = {
  /** An open connection to a peer that has not handshaken yet. */
  connection: [connection: Connection]
  warning: [err: Error]
  /** A tracker acknowledged an announce: from now on, peers that join will be sent to us. */
  announced: []
}

export interface AnnounceStats {
  uploaded: number
  downloaded: number
  /** Bytes we still lack; 0 for a seeder. Unknown before metadata: pass a large number. */
  left: number
}

export interface Discovery extends Emitter<DiscoveryEvents> {
  start (stats: AnnounceStats): void
  /** Tells trackers we finished downloading (BEP 3 `event=completed`). */
  /** The figures sent with the next periodic announce. */
  update (stats: AnnounceStats): void
  complete (stats: AnnounceStats): void
  destroy (): Promise<void>
}

export interface DiscoveryInit {
  infoHash: Uint8Array
  peerId: Uint8Array
  /** Asked before connecting to a peer whose id is known in advance (WebSocket trackers say it). */
  wantsPeer?: (peerIdHex: string) => boolean
}
