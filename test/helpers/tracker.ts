/** The in-process WebSocket tracker (bittorrent-tracker's server, bound to 127.0.0.1) for tests. */
export { startTrackerServer } from '../../cli/lib/tracker-server.js'
export type { TrackerServer, TrackerServerInit } from '../../cli/lib/tracker-server.js'

/**
 * The tracker URL as one test peer should announce to it. bittorrent-tracker's client shares one WebSocket per
 * announce URL among all clients of a process, and the tracker's offers do not name their recipient: two peers of
 * the same torrent in one process would both answer every offer meant for either. Real peers live in separate
 * processes; in tests each peer gets its own path on the same tracker (the server ignores the path).
 */
export function trackerUrlFor (tracker: { url: string }, peerName: string): string {
  return `${tracker.url}/${encodeURIComponent(peerName)}`
}
