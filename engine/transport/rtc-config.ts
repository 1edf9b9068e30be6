/**
 * The ICE configuration every peer starts from, in Node and in browsers alike (this file imports nothing).
 */

/** Public STUN servers, so that peers behind NAT learn their public address. */
export const PUBLIC_RTC_CONFIG: RTCConfiguration = {
  iceServers: [{ urls: ['stun:stun.l.google.com:19302', 'stun:global.stun.twilio.com:3478'] }]
}

/** A tracker URL on this machine (localhost, 127.0.0.0/8, [::1]). */
export function isLoopbackUrl (url: string): boolean {
  try {
    const host = new URL(url).hostname
    return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
  } catch {
    return false
  }
}

/**
 * When every tracker is on this machine (a `--local` demo, a test, a tracker started with `peersite tracker`),
 * every peer is too, so STUN can only slow connection set-up: a STUN host that does not resolve stalls ICE
 * gathering for seconds, and every WebSocket-tracker offer waits for gathering to end.
 */
export function allTrackersLocal (trackers: readonly string[]): boolean {
  return trackers.length > 0 && trackers.every(isLoopbackUrl)
}
