/** The in-process WebSocket tracker (bittorrent-tracker's server, bound to 127.0.0.1) for tests. */
export { startTrackerServer } from '../../cli/lib/tracker-server.js'
export type { TrackerServer, TrackerServerInit } from '../../cli/lib/tracker-server.js'
