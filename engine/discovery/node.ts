/**
 * WebSocket-tracker discovery for Node: the same dependency-free client browsers run (websocket-tracker.ts), over
 * the `ws` package's WebSocket (Node 20 has no global one) and node-datachannel's RTCPeerConnection (with the
 * fixes node-wrtc.ts applies to it).
 *
 * Why not bittorrent-tracker's client, as before: it brings @thaunknown/simple-peer -> webrtc-polyfill, which
 * wants its own node-datachannel 0.32 whose install script downloads a binary from outside the npm registry (and
 * then tries to compile it). An `overrides` entry hides that in this repository, but npm applies overrides only
 * to the root project, so `npm install peersite` and `npx peersite` failed for users.
 */
import { WebSocket } from 'ws'
import { nodeWrtc } from '../transport/node-wrtc.js'
import type { RTCPeerConnectionConstructor } from '../transport/webrtc.js'
import { WebSocketTrackerDiscovery, type WebSocketConstructor, type WebSocketTrackerDiscoveryInit } from './websocket-tracker.js'

export type NodeTrackerDiscoveryInit = Omit<WebSocketTrackerDiscoveryInit, 'WebSocket' | 'RTCPeerConnection'>

export function createNodeTrackerDiscovery (init: NodeTrackerDiscoveryInit): WebSocketTrackerDiscovery {
  return new WebSocketTrackerDiscovery({
    ...init,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    // The polyfill's class is standards-shaped, but its TypeScript types are its own.
    RTCPeerConnection: nodeWrtc.RTCPeerConnection as unknown as RTCPeerConnectionConstructor
  })
}
