/** Types for the CLI's dependencies that ship none (bencode and bittorrent-tracker are declared in engine/types.d.ts). */

declare module 'create-torrent' {
  import type { Readable } from 'node:stream'

  export interface CreateTorrentOptions {
    name?: string
    creationDate?: Date | number
    comment?: string
    createdBy?: string
    private?: boolean | number
    pieceLength?: number
    maxPieceLength?: number
    announceList?: string[][]
    urlList?: string[]
    filterJunkFiles?: boolean
    onProgress?: (hashedLength: number, estimatedTorrentLength: number) => void
  }

  /** Inputs are file-system paths, buffers, or readable streams carrying a `name`/`fullPath` ("folder/a/b.html"). */
  export type CreateTorrentInput = string | Uint8Array | (Readable & { name?: string, fullPath?: string })

  export default function createTorrent (
    input: CreateTorrentInput | CreateTorrentInput[],
    opts: CreateTorrentOptions,
    cb: (err: Error | null, torrent: Uint8Array) => void
  ): void
}

declare module 'parse-torrent' {
  export interface ParsedTorrent {
    infoHash: string
    name?: string
    announce?: string[]
    urlList?: string[]
    /** Present for .torrent files: the re-encoded info dictionary. */
    infoBuffer?: Uint8Array
    /** Magnet URIs: the tracker list (`tr`). */
    tr?: string | string[]
    xt?: string | string[]
    dn?: string
  }

  export default function parseTorrent (torrentId: string | Uint8Array | ParsedTorrent): Promise<ParsedTorrent>
  export function toMagnetURI (parsed: { infoHash: string, name?: string, announce?: string[], urlList?: string[] }): string
}

/** Magnet URIs (BEP 9 `magnet:?xt=urn:btih:...`); what parse-torrent uses for them, without its fetch polyfills. */
declare module 'magnet-uri' {
  export interface MagnetData {
    /** 40 lowercase hex digits (base32 topics are converted). */
    infoHash?: string
    name?: string
    dn?: string | string[]
    tr?: string | string[]
    xt?: string | string[]
    announce?: string[]
    urlList?: string[]
  }
  export function decode (uri: string): MagnetData
  export function encode (data: { infoHash: string, name?: string, announce?: string[], urlList?: string[] }): string
  export default decode
}

/** The server alone (bittorrent-tracker's package entry also loads its client and that client's WebRTC chain). */
declare module 'bittorrent-tracker/server' {
  export { Server as default } from 'bittorrent-tracker'
}
