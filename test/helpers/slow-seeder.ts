/**
 * A Node seeder that uploads at a bounded rate: unthrottled, a seeder on this machine sends a 25 MB clip in a
 * second or two, and "a player seeks before the download completes" would be a race. The rate is a property of
 * the seeder's store (each read waits its turn), so the engine, the wire protocol and WebRTC stay the real ones.
 */
import { fullBitfield } from '../../engine/bitfield.js'
import { TrackerDiscovery } from '../../engine/discovery/tracker.js'
import type { Metainfo } from '../../engine/metainfo/index.js'
import { FsStore } from '../../engine/storage/fs.js'
import type { PieceStore } from '../../engine/storage/index.js'
import { Torrent } from '../../engine/torrent.js'
import { nodeWrtc, rtcConfig } from './webrtc.js'

/** A store whose reads leave at `bytesPerSecond` at most. */
export class ThrottledStore implements PieceStore {
  readonly pieceLength: number
  readonly length: number
  #next = 0
  constructor (private readonly inner: PieceStore, private readonly bytesPerSecond: number) {
    this.pieceLength = inner.pieceLength
    this.length = inner.length
  }

  async put (index: number, data: Uint8Array, signal?: AbortSignal): Promise<void> { await this.inner.put(index, data, signal) }

  async get (index: number, range?: { offset: number, length: number }, signal?: AbortSignal): Promise<Uint8Array> {
    const bytes = range?.length ?? this.pieceLength
    const now = performance.now()
    const at = Math.max(now, this.#next)
    this.#next = at + bytes / this.bytesPerSecond * 1000
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now))
    return await this.inner.get(index, range, signal)
  }

  async close (): Promise<void> { await this.inner.close() }
}

export interface SlowSeederInit {
  metainfo: Metainfo
  /** The folder holding the torrent's files. */
  root: string
  /** Tracker URLs (one per peer: see trackerUrlFor). */
  announce: string[]
  bytesPerSecond: number
}

/** Seeds the whole torrent from `root` at `bytesPerSecond`; resolves once a tracker knows it (or after 5 s). */
export async function startSlowSeeder (init: SlowSeederInit): Promise<Torrent> {
  const { metainfo } = init
  const torrent = new Torrent({
    createStore: (m) => new ThrottledStore(new FsStore({ pieceLength: m.pieceLength, length: m.length, root: init.root, files: m.files, names: 'checked' }), init.bytesPerSecond),
    createDiscovery: (d) => new TrackerDiscovery({ ...d, announce: init.announce, wrtc: nodeWrtc, rtcConfig, announceIntervalMs: 5_000 })
  }, { infoHash: metainfo.infoHash, metainfo, have: fullBitfield(metainfo.pieceCount) })
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 5_000)
    torrent.once('announced', () => { clearTimeout(timer); resolve() })
  })
  return torrent
}
