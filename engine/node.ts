/**
 * The engine's Node-only parts (`import { FsStore, createNodeTrackerDiscovery } from 'peersite/engine/node'`):
 * a file-system piece store and WebSocket-tracker discovery over `ws` and node-datachannel.
 */
export { FsStore, type FsStoreInit } from './storage/fs.js'
export { createNodeTrackerDiscovery, type NodeTrackerDiscoveryInit } from './discovery/node.js'
export { nodeWrtc } from './transport/node-wrtc.js'
