/**
 * Node glue between the CLI and the engine: a seeder for a published folder and a downloader for `get`.
 * (Being written by the lead; the signatures below are the contract the commands code against.)
 */
import type { Metainfo } from '../../engine/metainfo/index.js'

export interface SwarmStats {
  /** Connected peers (handshake done). */
  peers: number
  /** Payload bytes sent to / received from peers. */
  uploaded: number
  downloaded: number
  /** Bytes per second, smoothed over a few seconds. */
  uploadRate: number
  downloadRate: number
  /** Verified bytes we hold, and the torrent's size (0 before metadata). */
  verified: number
  length: number
}

export interface SwarmOptions {
  /** WebSocket tracker URLs to announce to. */
  trackers: string[]
  /** Passed to every RTCPeerConnection; tests pass { iceServers: [] }. Default: public STUN servers. */
  rtcConfig?: RTCConfiguration
  signal?: AbortSignal
  /** A hostile peer, a tracker error: reported, never fatal. */
  onWarning?: (message: string) => void
}

export interface Seeder {
  readonly infoHash: string
  stats (): SwarmStats
  close (): Promise<void>
}

/** Seeds `metainfo` from the files under `root` (the published folder). The files must already match. */
export async function startSeeder (opts: SwarmOptions & { metainfo: Metainfo, root: string }): Promise<Seeder> {
  throw new Error(`startSeeder is not written yet (${opts.metainfo.infoHash})`)
}

export interface DownloadProgress extends SwarmStats {}

/**
 * Downloads a torrent into `out` (which must not exist or be empty), verifying every piece. Without `metainfo`,
 * the info dictionary is fetched from peers (BEP 9). Files appear in `out` only when complete: the download goes
 * to a staging folder beside it first.
 */
export async function download (opts: SwarmOptions & {
  infoHash: string
  metainfo?: Metainfo
  out: string
  onMetadata?: (metainfo: Metainfo) => void
  onProgress?: (progress: DownloadProgress) => void
}): Promise<{ metainfo: Metainfo, stats: SwarmStats }> {
  throw new Error(`download is not written yet (${opts.infoHash})`)
}
