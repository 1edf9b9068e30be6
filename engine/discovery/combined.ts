/**
 * Several discovery sources as one (the torrent takes a single Discovery): a hybrid Node peer runs the WebSocket
 * trackers (WebRTC peers, browsers among them) beside the BitTorrent network (TCP peers from HTTP/UDP trackers and
 * the DHT). Connections from either reach the same torrent, which is what bridges them: pieces fetched from TCP
 * peers are served to browsers over WebRTC.
 */
import { Emitter } from '../util/emitter.js'
import type { AnnounceStats, Discovery, DiscoveryEvents } from './index.js'

export class CombinedDiscovery extends Emitter<DiscoveryEvents> implements Discovery {
  readonly parts: readonly Discovery[]

  constructor (parts: readonly Discovery[]) {
    super()
    this.parts = parts
    for (const part of parts) {
      part.on('connection', (conn) => this.emit('connection', conn))
      part.on('warning', (err) => this.emit('warning', err))
      part.on('announced', () => this.emit('announced'))
    }
  }

  start (stats: AnnounceStats): void { for (const p of this.parts) p.start(stats) }
  update (stats: AnnounceStats): void { for (const p of this.parts) p.update(stats) }
  complete (stats: AnnounceStats): void { for (const p of this.parts) p.complete(stats) }

  async destroy (): Promise<void> {
    await Promise.allSettled(this.parts.map(async (p) => await p.destroy()))
    this.removeAllListeners()
  }
}
