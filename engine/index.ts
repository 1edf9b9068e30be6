/**
 * The engine's public API (`import { Torrent } from 'peersite/engine'`): what runs in browsers and Node alike,
 * with no `node:` import. Node-only parts (file-system store, node-datachannel, the `ws` tracker socket) are in
 * `peersite/engine/node` (./node.ts).
 */
export { Torrent, createPeerId, type TorrentComponents, type TorrentEvents, type TorrentInit, type TorrentStats } from './torrent.js'
export { Bitfield } from './bitfield.js'
export {
  parseInfoDictionary, pieceLengthAt, pieceDataLength, pieceHash, piecesForRange, fileSlices, findFile, type Metainfo, type TorrentFile, type FileSlice
} from './metainfo/index.js'
export type { PieceStore, PieceStoreInit } from './storage/index.js'
export { MemoryStore, type MemoryStoreInit } from './storage/memory.js'
export type { AnnounceStats, Discovery, DiscoveryEvents, DiscoveryInit } from './discovery/index.js'
export {
  WebSocketTrackerDiscovery, type WebSocketConstructor, type WebSocketLike, type WebSocketTrackerDiscoveryInit
} from './discovery/websocket-tracker.js'
export type { Connection, ConnectionEvents } from './transport/index.js'
export {
  WebRtcConnection, createAnswer, createOffer, type RTCPeerConnectionConstructor, type SessionDescription, type WebRtcInit
} from './transport/webrtc.js'
export { PUBLIC_RTC_CONFIG, allTrackersLocal } from './transport/rtc-config.js'
export {
  PeersiteError, ProtocolError, HashMismatchError, InvalidTorrentError, AbortError, StorageError, UsageError
} from './errors.js'
