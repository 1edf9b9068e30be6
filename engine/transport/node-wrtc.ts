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
import { setSctpSettings } from 'node-datachannel'
import { RTCIceCandidate, RTCPeerConnection, RTCSessionDescription } from 'node-datachannel/polyfill'

/**
 * The most a Node peer's SCTP association holds unacknowledged or queued (a process-wide setting, for the
 * associations made after it), and with it the most it has in flight: a window of W bytes carries at most W per
 * round trip. libdatachannel gives the association a send buffer of at least its local maximum message size, so
 * NODE_MAX_MESSAGE_SIZE (below) follows this value: a smaller window needs both.
 *
 * libdatachannel's default of 1 MiB overflowed a home uplink's queue: bench/offload.mjs with the seeder's upload
 * capped at 20 Mbit/s (a 100 ms queue) saw 200-650 of its packets dropped per visitor, and one copy of a 2 MB site
 * cost up to 1.7 times its size on the wire; 256 KiB made it 1.09x. On the benches' bare veth pair (no link to
 * spread the bursts) 256 KiB still overflows the visitor's end: Chromium's WebRTC socket has a 128 KiB receive
 * buffer (it asks for 64 KiB), some 50 datagrams, and drops what arrives while its network thread is a few ms late.
 * 128 KiB cut those drops (a cold mathjax visit: median 135 -> 22) and the publisher's copies on the wire (8
 * visitors of a 2 MB site: 1.34x -> 1.20x, 16: 1.46x -> 1.31x, medians of 5-8 alternated rounds), but the visitors
 * were slower where 16 Chromiums starve 2 cores (all done 14-17 s against 11-14 s; newcomers' first paint 3.8-6.2 s
 * against 3.3-3.7 s in 3 runs) and a peer 100 ms away would get half the ceiling (1.3 MB/s): so 256 KiB stays.
 * bench/RESULTS.md, "The seeder's SCTP window", has the figures.
 */
export const SCTP_SEND_BUFFER = 256 * 1024
setSctpSettings({ sendBufferSize: SCTP_SEND_BUFFER })

/**
 * The largest message a Node peer accepts, advertised in its descriptions (a=max-message-size), and the floor of
 * its SCTP send buffer (libdatachannel's SctpTransport takes the larger of the two; its default is 256 KiB, which
 * would undo a smaller SCTP_SEND_BUFFER). Our largest messages are the uploader's batches of blocks
 * (SEND_COALESCE_BYTES, 64 KiB) and bitfields (one bit per piece: 256 KiB holds two million pieces).
 */
export const NODE_MAX_MESSAGE_SIZE = SCTP_SEND_BUFFER

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

/**
 * How long the answering side waits before it starts ICE checks towards the offer's candidates.
 *
 * Over the WebSocket tracker, the answerer has the offer (with every candidate) before the offerer has the answer.
 * libjuice (node-datachannel's ICE) then sends its first connectivity checks to an offerer that cannot yet
 * authenticate them, and only retries one second later: measured here, 5 to 8 connections in 12 took 1000 ms
 * instead of 5-15 ms. Applying the offer without its candidates and adding them a moment later lets the answer
 * reach the offerer first (the tracker relays it within milliseconds): 12 in 12 opened in 55-70 ms. A Firefox
 * offerer needs the delay too (measured: 1000 ms without it, 80-100 ms with it). A Chromium offerer does not
 * (libwebrtc answers checks that come before the answer, as RFC 8445 expects of an offerer): its offers (`o=- `,
 * libwebrtc's origin line; libdatachannel writes `o=rtc`, Firefox `o=mozilla`) are applied whole, and the channel
 * opened 6-18 ms after Chromium had the answer instead of 56-138 ms (a visitor's first connection to the publisher's
 * seeder: bench/trace-visit.mjs, pc5-remote to pc0-open). Browsers never load this file.
 */
const ANSWERER_CANDIDATE_DELAY_MS = 50
const DELAYED = Symbol.for('peersite.delayAnswererCandidates')

interface DescriptionTarget {
  setRemoteDescription (description: RTCSessionDescriptionInit): Promise<void>
  addIceCandidate (candidate: RTCIceCandidateInit): Promise<void>
}

export function delayAnswererCandidates (ctor: { prototype: object }): void {
  const proto = ctor.prototype as DescriptionTarget & { [DELAYED]?: true }
  if (proto[DELAYED] === true) return
  const setRemote = proto.setRemoteDescription
  proto.setRemoteDescription = async function (this: DescriptionTarget, description: RTCSessionDescriptionInit): Promise<void> {
    const sdp = description?.sdp
    // Only whole offers of one data-channel section (what the WebSocket tracker protocol carries).
    if (description?.type !== 'offer' || sdp === undefined || (sdp.match(/^m=/gm) ?? []).length !== 1 || /^o=- /m.test(sdp)) {
      await setRemote.call(this, description)
      return
    }
    const lines = sdp.split(/\r?\n/)
    const candidates = lines.filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(2))
    if (candidates.length === 0) {
      await setRemote.call(this, description)
      return
    }
    const sdpMid = lines.find((l) => l.startsWith('a=mid:'))?.slice(6) ?? '0'
    const rest = lines.filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates').join('\r\n')
    await setRemote.call(this, { type: 'offer', sdp: rest })
    setTimeout(() => {
      for (const candidate of candidates) this.addIceCandidate({ candidate, sdpMid }).catch(() => {})
    }, ANSWERER_CANDIDATE_DELAY_MS)
  }
  proto[DELAYED] = true
}


addEndOfCandidatesEvent(RTCPeerConnection)
delayAnswererCandidates(RTCPeerConnection)
try {
  // bittorrent-tracker -> @thaunknown/simple-peer -> webrtc-polyfill (a transitive dependency).
  const polyfill = await import('webrtc-polyfill' as string) as { RTCPeerConnection?: { prototype: object } }
  if (polyfill.RTCPeerConnection !== undefined) {
    addEndOfCandidatesEvent(polyfill.RTCPeerConnection)
    delayAnswererCandidates(polyfill.RTCPeerConnection)
  }
} catch {
  // Not installed: nothing uses it then.
}

/** node-datachannel's RTCPeerConnection with NODE_MAX_MESSAGE_SIZE unless the configuration gives its own. */
class NodeRTCPeerConnection extends RTCPeerConnection {
  constructor (config?: RTCConfiguration) {
    super({ maxMessageSize: NODE_MAX_MESSAGE_SIZE, ...config } as RTCConfiguration)
  }
}

/** What simple-peer / bittorrent-tracker / WebTorrent accept as their `wrtc` option. */
export const nodeWrtc = { RTCPeerConnection: NodeRTCPeerConnection, RTCSessionDescription, RTCIceCandidate }
