/**
 * The engine's Node-only parts (`import { FsStore, createNodeTrackerDiscovery } from 'peersite/engine/node'`):
 * a file-system piece store, WebSocket-tracker discovery over `ws` and node-datachannel, and the BitTorrent
 * network: TCP connections and the shared listening port, HTTP/UDP trackers, the mainline DHT, ut_pex over TCP.
 */
export { FsStore, type FsStoreInit } from './storage/fs.js'
// FsStoreInit.names for a folder a site's files are written into: its file system's rules, asked of it once.
export { probeNameRules } from './storage/name-probe.js'
export { createNodeTrackerDiscovery, type NodeTrackerDiscoveryInit } from './discovery/node.js'
export { nodeWrtc } from './transport/node-wrtc.js'
export { TcpConnection, dialTcp } from './transport/tcp.js'
export { TcpListener } from './transport/tcp-listener.js'
export { TcpDiscovery, type TcpDiscoveryInit } from './discovery/tcp.js'
export { CombinedDiscovery } from './discovery/combined.js'
export { MainlineDht, type MainlineDhtInit } from './discovery/dht.js'
export { TcpPeerExchange } from './discovery/pex.js'
export { announceTo, type AnnounceRequest, type AnnounceResult, type PeerAddress } from './discovery/http-tracker.js'
