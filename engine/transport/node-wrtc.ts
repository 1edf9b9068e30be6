/**
 * WebRTC for Node: node-datachannel's standards-shaped RTCPeerConnection, handed to simple-peer (through
 * bittorrent-tracker) as its `wrtc` implementation. Browsers use their own and never load this file.
 */
import { RTCIceCandidate, RTCPeerConnection, RTCSessionDescription } from 'node-datachannel/polyfill'

export const nodeWrtc = { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate }

/** Public STUN servers, so that peers behind NAT find their public address. Tests pass `{ iceServers: [] }`. */
export const DEFAULT_RTC_CONFIG: RTCConfiguration = {
  iceServers: [{ urls: ['stun:stun.l.google.com:19302', 'stun:global.stun.twilio.com:3478'] }]
}
