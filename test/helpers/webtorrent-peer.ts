/**
 * Stock WebTorrent (webtorrent@2.6.10, a devDependency) running in this Node process as a third-party test
 * peer: the client whose wire protocol peersite must interoperate with.
 *
 * Every client made here is locked to the test's own tracker:
 * - no DHT, no LSD (LAN multicast), no uTP, no UPnP/NAT-PMP, no web seeds;
 * - WebRTC with `iceServers: []` (no STUN: see ./webrtc.ts). Note: WebTorrent 2.x's tracker client makes its
 *   connections with @thaunknown/simple-peer, which ignores `tracker.wrtc` and always uses webrtc-polyfill
 *   (also node-datachannel underneath); `wrtc` only switches WebRTC support on. `rtcConfig` is honoured.
 *   Importing ./webrtc.js adds the end-of-candidates event to both polyfills (else 5 s + 5 s per connection);
 * - the torrent's announce list is exactly `[trackerUrl]`: we pass `announce`, which also stops
 *   create-torrent from adding its default public trackers when seeding, and we set no client-wide
 *   `tracker.announce`; after the torrent is ready we check the list and refuse to continue otherwise.
 * Run these only inside the namespace of scripts/in-netns.sh (call assertInNetns() in the test).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, normalize, sep } from 'node:path'
import WebTorrent from 'webtorrent'
import type { Torrent, TorrentOptions } from 'webtorrent'
import { makeTempDir, type TempDir } from './tmp.js'
import { nodeWrtc, rtcConfig } from './webrtc.js'

export type { Torrent } from 'webtorrent'

/** Client options that keep stock WebTorrent off every network but the test tracker's swarm. */
export function webtorrentClientOptions (): Record<string, unknown> {
  return {
    dht: false,
    lsd: false,
    utp: false,
    natUpnp: false,
    natPmp: false,
    webSeeds: false,
    tracker: { wrtc: nodeWrtc, rtcConfig }
  }
}

function newClient (answerOnly = false): WebTorrent {
  // webtorrent-hybrid's hook: a global that adds trackers to every torrent. Never in our tests.
  if ((globalThis as { WEBTORRENT_ANNOUNCE?: unknown }).WEBTORRENT_ANNOUNCE !== undefined) {
    throw new Error('globalThis.WEBTORRENT_ANNOUNCE is set: it would add trackers to the test torrents')
  }
  const opts = webtorrentClientOptions()
  if (answerOnly) {
    // numwant 0: the WebSocket tracker client generates no offers, so this peer only answers the offers
    // that announcing peers send through the tracker.
    opts.tracker = { ...(opts.tracker as object), getAnnounceOpts: () => ({ numwant: 0 }) }
  }
  return new WebTorrent(opts)
}

/** Refuse to go on if WebTorrent would talk to anything but the test tracker. */
function assertLockedToTracker (torrent: Torrent, trackerUrl: string): void {
  const announce = torrent.announce ?? []
  if (announce.length !== 1 || announce[0] !== trackerUrl) {
    throw new Error(`WebTorrent torrent announces to ${JSON.stringify(announce)}, expected only ${trackerUrl}`)
  }
  if ((torrent.urlList ?? []).length !== 0) {
    throw new Error(`WebTorrent torrent has web seeds ${JSON.stringify(torrent.urlList)}`)
  }
}

function destroyClient (client: WebTorrent): Promise<void> {
  return new Promise((resolve) => client.destroy(() => resolve()))
}

/** Files as path (relative, '/'-separated) -> bytes. */
export type FileSet = Map<string, Uint8Array> | Record<string, Uint8Array>

function entriesOf (files: FileSet): Array<[string, Uint8Array]> {
  return files instanceof Map ? [...files.entries()] : Object.entries(files)
}

async function writeFileSet (root: string, files: FileSet): Promise<void> {
  for (const [rel, data] of entriesOf(files)) {
    const clean = normalize(rel)
    if (clean.startsWith('..') || clean.startsWith(sep) || clean === '.') throw new Error(`bad file path ${rel}`)
    const full = join(root, clean)
    await mkdir(dirname(full), { recursive: true })
    await writeFile(full, data)
  }
}

function withTimeout<T> (promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export interface WebtorrentSeedInit {
  /** ws://127.0.0.1:PORT of the test tracker (startTrackerServer). */
  trackerUrl: string
  /**
   * Files to seed, written to a temp dir first. Always a multi-file torrent named `name`, whose files are the
   * keys (e.g. 'index.html', 'css/site.css').
   */
  files?: FileSet
  /** Torrent name for `files` (default 'site'); overrides the basename for `path`. */
  name?: string
  /** An existing file (single-file torrent) or directory (multi-file torrent) to seed in place. */
  path?: string
  /** Alias of `path` for a directory. */
  dir?: string
  pieceLength?: number
  /**
   * Let the seeder send WebRTC offers through the tracker too (default false: it only answers).
   * Two stock WebTorrent peers that both offer re-announce on the same tracker interval, so their offers
   * cross ("glare"): each side drops the other's connection as a duplicate, and one failed first attempt
   * then leaves them unconnected for a long time (seen: > 45 s under CPU load). A seeder needs no offers of
   * its own: every downloader that announces sends it offers.
   */
  initiate?: boolean
  /** Wait until the seeder's first announce reached the tracker (default true). */
  waitForAnnounce?: boolean
  timeoutMs?: number
}

export interface WebtorrentSeed {
  readonly infoHash: string
  /** Magnet link with the test tracker as its only `tr`. */
  readonly magnetURI: string
  /** The .torrent file WebTorrent made. */
  readonly torrentFile: Uint8Array
  readonly torrent: Torrent
  readonly client: WebTorrent
  close (): Promise<void>
}

/** Seed files with stock WebTorrent in this process. */
export async function webtorrentSeed (init: WebtorrentSeedInit): Promise<WebtorrentSeed> {
  const timeoutMs = init.timeoutMs ?? 30_000
  let temp: TempDir | undefined
  let input: string
  const opts: TorrentOptions = { announce: [init.trackerUrl] }
  if (init.pieceLength !== undefined) opts.pieceLength = init.pieceLength
  if (init.files !== undefined) {
    temp = await makeTempDir('peersite-wt-seed-')
    input = join(temp.path, init.name ?? 'site')
    await mkdir(input, { recursive: true })
    await writeFileSet(input, init.files)
    opts.name = init.name ?? 'site'
  } else if (init.path !== undefined || init.dir !== undefined) {
    input = (init.path ?? init.dir) as string
    if (init.name !== undefined) opts.name = init.name
  } else {
    throw new Error('webtorrentSeed needs files, path or dir')
  }

  const client = newClient(init.initiate !== true)
  const close = async (): Promise<void> => {
    await destroyClient(client)
    await temp?.cleanup()
  }
  try {
    const torrent = await withTimeout(new Promise<Torrent>((resolve, reject) => {
      client.once('error', reject)
      const t = client.seed(input, opts, (seeded) => resolve(seeded))
      t.once('error', reject)
    }), timeoutMs, () => `WebTorrent seeding ${input}`)
    assertLockedToTracker(torrent, init.trackerUrl)
    if (init.waitForAnnounce !== false) {
      // The seed callback fires once the store is loaded; the first announce may still be in flight.
      await withTimeout(new Promise<void>((resolve) => torrent.once('trackerAnnounce', () => resolve())),
        timeoutMs, () => `WebTorrent seeder announcing to ${init.trackerUrl}`)
    }
    return {
      infoHash: torrent.infoHash,
      magnetURI: torrent.magnetURI,
      torrentFile: new Uint8Array(torrent.torrentFile),
      torrent,
      client,
      close
    }
  } catch (err) {
    await close()
    throw err
  }
}

export interface WebtorrentDownloadInit {
  trackerUrl: string
  /** One of these identifies the torrent. With only an infohash, metadata comes from peers (BEP 9). */
  magnetURI?: string
  infoHash?: string
  torrentFile?: Uint8Array
  /** Rejects if the whole torrent has not arrived by then (default 60 s). */
  timeoutMs?: number
}

export interface WebtorrentDownload {
  /**
   * path -> bytes. Multi-file torrents: the path inside the torrent without the torrent's name (the same keys
   * `webtorrentSeed({ files })` takes). Single-file torrents: the file name.
   */
  readonly files: Map<string, Uint8Array>
  readonly torrent: Torrent
  readonly client: WebTorrent
  /** ms from add() to metadata, and to the last verified piece. */
  readonly timings: { metadataMs: number, doneMs: number }
  close (): Promise<void>
}

/** Download a whole torrent with stock WebTorrent in this process, into a temp dir removed on close(). */
export async function webtorrentDownload (init: WebtorrentDownloadInit): Promise<WebtorrentDownload> {
  const timeoutMs = init.timeoutMs ?? 60_000
  let torrentId: string | Uint8Array
  if (init.torrentFile !== undefined) torrentId = init.torrentFile
  else if (init.magnetURI !== undefined) torrentId = init.magnetURI
  else if (init.infoHash !== undefined) torrentId = `magnet:?xt=urn:btih:${init.infoHash}`
  else throw new Error('webtorrentDownload needs magnetURI, infoHash or torrentFile')

  const temp = await makeTempDir('peersite-wt-get-')
  const client = newClient()
  const close = async (): Promise<void> => {
    await destroyClient(client)
    await temp.cleanup()
  }
  const started = performance.now()
  let metadataMs = -1
  let torrent: Torrent | undefined
  try {
    await withTimeout(new Promise<void>((resolve, reject) => {
      client.once('error', reject)
      torrent = client.add(torrentId, { announce: [init.trackerUrl], path: temp.path }, () => {
        metadataMs = performance.now() - started
      })
      torrent.once('error', reject)
      torrent.once('metadata', () => {
        try { assertLockedToTracker(torrent as Torrent, init.trackerUrl) } catch (err) { reject(err) }
      })
      torrent.once('done', () => resolve())
    }), timeoutMs, () => {
      const t = torrent
      if (t === undefined) return 'WebTorrent download never started'
      return `WebTorrent download of ${t.infoHash}: metadata ${t.ready ? 'yes' : 'no'}, ` +
        `progress ${(t.progress * 100).toFixed(1)}%, ${t.numPeers} peer(s)`
    })
    const doneMs = performance.now() - started
    const t = torrent as Torrent
    const files = new Map<string, Uint8Array>()
    const single = t.files.length === 1 && !t.files[0]!.path.includes(sep) && !t.files[0]!.path.includes('/')
    for (const file of t.files) {
      let key = file.path.split(sep).join('/')
      if (!single && key.startsWith(`${t.name}/`)) key = key.slice(t.name.length + 1)
      files.set(key, file.length === 0 ? new Uint8Array(0) : new Uint8Array(await file.arrayBuffer()))
    }
    return { files, torrent: t, client, timings: { metadataMs, doneMs }, close }
  } catch (err) {
    await close()
    throw err
  }
}
