/**
 * WebRTC for Node-side test peers: node-datachannel's standards-shaped polyfill, and the ICE configuration
 * every test must use. No STUN servers: inside the test namespace no DNS answers, and a STUN host in the ICE
 * configuration stalls candidate gathering until the lookup times out (seen: ~6 s per connection).
 */
import { networkInterfaces } from 'node:os'
import type { nodeWrtc } from '../../engine/transport/node-wrtc.js'

/**
 * What simple-peer / bittorrent-tracker / WebTorrent accept as their `wrtc` option: node-datachannel's polyfill,
 * with the end-of-candidates event the engine adds (see engine/transport/node-wrtc.ts).
 */
export { nodeWrtc } from '../../engine/transport/node-wrtc.js'

/** ICE configuration for tests: host candidates only. Production keeps STUN. */
export const rtcConfig: RTCConfiguration = { iceServers: [] }

/** Addresses of the interfaces that are not loopback (the veth pair, inside the namespace). */
export function nonLoopbackAddresses (): string[] {
  const out: string[] = []
  for (const [name, infos] of Object.entries(networkInterfaces())) {
    for (const info of infos ?? []) {
      if (!info.internal && name !== 'lo') out.push(info.address)
    }
  }
  return out
}

/**
 * Throw unless this process runs inside the private network namespace made by scripts/in-netns.sh.
 * Call it at the top of every test that opens WebRTC connections: outside the namespace they would either
 * fail (libdatachannel ignores loopback) or, worse, gather candidates on the machine's real interface.
 */
export function assertInNetns (): void {
  const how = 'Run the tests through the namespace wrapper: `npm test`, or ' +
    '`sh scripts/in-netns.sh npx vitest run <files>`.'
  if (process.env.PEERSITE_NETNS !== '1') {
    throw new Error(`This test must run inside the private network namespace (PEERSITE_NETNS is not set). ${how}`)
  }
  const ifaces = networkInterfaces()
  if (ifaces.v0 === undefined || !ifaces.v0.some((i) => i.address === '10.77.0.1')) {
    throw new Error('PEERSITE_NETNS=1 is set but the veth interface v0 (10.77.0.1) is missing: this process ' +
      `is not in the namespace scripts/in-netns.sh creates (was PEERSITE_NETNS exported by hand?). ${how}`)
  }
}

type NodePeerConnection = InstanceType<typeof nodeWrtc.RTCPeerConnection>

/**
 * Connects two peer connections made here, signalled in-process: trickle ICE both ways, then a's offer and b's
 * answer. Create a's data channels (and every handler) first; the descriptions stay readable afterwards.
 */
export async function signalPair (a: NodePeerConnection, b: NodePeerConnection): Promise<void> {
  a.onicecandidate = (e) => { if (e.candidate) void b.addIceCandidate(e.candidate) }
  b.onicecandidate = (e) => { if (e.candidate) void a.addIceCandidate(e.candidate) }
  await a.setLocalDescription(await a.createOffer())
  await b.setRemoteDescription(a.localDescription!)
  await b.setLocalDescription(await b.createAnswer())
  await a.setRemoteDescription(b.localDescription!)
}
