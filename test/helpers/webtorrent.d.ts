/**
 * The slice of stock WebTorrent 2.x (a test-only devDependency, shipped without types) that the test helpers
 * use. Not complete: add what a test needs.
 */
declare module 'webtorrent' {
  import type { EventEmitter } from 'node:events'

  export interface WebTorrentFile {
    readonly name: string
    /** Path inside the torrent, including the torrent's name for multi-file torrents. */
    readonly path: string
    readonly length: number
    readonly offset: number
    arrayBuffer (opts?: { start?: number, end?: number }): Promise<ArrayBuffer>
  }

  export interface WebTorrentWire {
    readonly remoteAddress?: string
    readonly type?: string
    readonly peerExtendedHandshake?: Record<string, unknown>
  }

  export interface Torrent extends EventEmitter {
    readonly infoHash: string
    readonly magnetURI: string
    readonly torrentFile: Uint8Array
    readonly name: string
    readonly announce: string[]
    readonly urlList: string[]
    readonly files: WebTorrentFile[]
    readonly length: number
    readonly pieceLength: number
    readonly done: boolean
    readonly ready: boolean
    readonly progress: number
    readonly downloaded: number
    readonly uploaded: number
    readonly numPeers: number
    readonly wires: WebTorrentWire[]
    readonly downloadSpeed: number
    readonly uploadSpeed: number
    destroy (opts?: { destroyStore?: boolean }, cb?: (err?: Error | null) => void): void
  }

  export interface TorrentOptions {
    announce?: string[]
    urlList?: string[]
    path?: string
    name?: string
    pieceLength?: number
    private?: boolean
    createdBy?: string
    destroyStoreOnDestroy?: boolean
    store?: unknown
    [key: string]: unknown
  }

  export default class WebTorrent extends EventEmitter {
    constructor (opts?: Record<string, unknown>)
    readonly torrents: Torrent[]
    readonly peerId: string
    add (torrentId: string | Uint8Array, opts?: TorrentOptions, ontorrent?: (torrent: Torrent) => void): Torrent
    seed (input: string | Uint8Array | Array<string | Uint8Array>, opts?: TorrentOptions, onseed?: (torrent: Torrent) => void): Torrent
    destroy (cb?: (err?: Error | null) => void): void
  }
}
