/**
 * WebRTC for Node: node-datachannel's standards-shaped RTCPeerConnection. Browsers use their own and never load
 * this file.
 *
 * The end-of-candidates signal. The W3C spec ends ICE gathering with an `icecandidate` event whose `candidate` is
 * null; browsers send it. node-datachannel 0.33's polyfill, and webrtc-polyfill (which @thaunknown/simple-peer, used
 * by bittorrent-tracker's WebSocket client, imports whatever `wrtc` it is given), only fire
 * `icegatheringstatechange`. simple-peer with `trickle: false` (the WebSocket tracker protocol carries whole
 * offers and answers) waits for that null candidate, else for its 5 s `iceCompleteTimeout`: 5 s for the offer plus
 * 5 s for the answer on every Node connection. Importing this module adds the event to both classes, so a
 * connection opens in milliseconds. libdatachannel's local description already holds every candidate when it
 * reports gathering complete, so the offer simple-peer then reads is whole.
 */
import { RTCIceCandidate, RTCPeerConnection, RTCSessionDescription } from 'node-datachannel/polyfill'

const PATCHED = Symbol.for('peersite.endOfCandidates')

interface Dispatcher {
  dispatchEvent (event: Event): boolean
  readonly iceGatheringState: string
}

export function addEndOfCandidatesEvent (ctor: { prototype: object }): void {
  const proto = ctor.prototype as Dispatcher & { [PATCHED]?: true }
  if (proto[PATCHED] === true) return
  const dispatch = proto.dispatchEvent
  proto.dispatchEvent = function (this: Dispatcher, event: Event): boolean {
    const result = dispatch.call(this, event)
    if (event.type === 'icegatheringstatechange' && this.iceGatheringState === 'complete') {
      dispatch.call(this, Object.assign(new Event('icecandidate'), { candidate: null }))
    }
    return result
  }
  proto[PATCHED] = true
}

addEndOfCandidatesEvent(RTCPeerConnection)
try {
  // bittorrent-tracker -> @thaunknown/simple-peer -> webrtc-polyfill (a transitive dependency).
  const polyfill = await import('webrtc-polyfill' as string) as { RTCPeerConnection?: { prototype: object } }
  if (polyfill.RTCPeerConnection !== undefined) addEndOfCandidatesEvent(polyfill.RTCPeerConnection)
} catch {
  // Not installed: nothing uses it then.
}

/** What simple-peer / bittorrent-tracker / WebTorrent accept as their `wrtc` option. */
export const nodeWrtc = { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate }

/** Public STUN servers, so that peers behind NAT find their public address. Tests pass `{ iceServers: [] }`. */
export const DEFAULT_RTC_CONFIG: RTCConfiguration = {
  iceServers: [{ urls: ['stun:stun.l.google.com:19302', 'stun:global.stun.twilio.com:3478'] }]
}
