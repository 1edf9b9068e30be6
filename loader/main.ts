/**
 * The loader page's script (bundled into peersite.js; index.html finds the site root and calls `boot`).
 *
 *   1. feature checks: secure context, service workers, WebRTC (boot.ts) -> a clear page if one is missing;
 *   2. register sw.js (scope: the site root) and wait until it controls this page;
 *   3. leader election (leader.ts): the leader boots the engine and hands the worker a port to it;
 *   4. the persistent shell (shell.ts): the site in a full-window frame, navigations inside it, so the engine and
 *      its peer connections survive them; a small progress card until the first page has loaded, and a clear
 *      page if nobody shares the site.
 *
 * Every URL is relative to the site root, so the loader works under any sub-path (https://host/some/site/).
 */
import type { Torrent, TorrentStats } from '../engine/torrent.js'
import type { SiteManifest } from '../worker/protocol.js'
import { BootProblem, missingFeatures, registerAndControl } from './boot.js'
import { fetchTorrentFile, mark, parseTorrentFile, startTorrent, type ReadProgress } from './engine-host.js'
import { electLeader, serveWorker } from './leader.js'
import { prefetchLimitOf, startPrefetch } from './prefetch.js'
import { createShell, insideShell } from './shell.js'
import { formatBytes, hideCard, progress, showProblem, status } from './ui.js'

/** No byte from any peer by then (and no page shown): tell the visitor nobody shares the site right now. */
const NOBODY_DEADLINE_MS = 20_000
/** The progress card appears only if the first page takes longer than this (no flash on warm visits). */
const CARD_DELAY_MS = 300
const CARD_UPDATE_MS = 250

/** What devtools and the tests can look at: `window.peersite`. */
export interface PeersiteDebug {
  readonly root: string
  readonly manifest: SiteManifest
  leader: boolean
  torrent: Torrent | undefined
  /** The first page in the frame has loaded. */
  loaded: boolean
  /** Bytes of the files being prefetched in the background (set once the first page has painted; leader only). */
  prefetch?: number
  /** Ports handed to the worker (more than one: the worker restarted, or a new worker took over). */
  introductions: number
  stats (): TorrentStats | undefined
}

export async function boot (root: string, manifest: SiteManifest): Promise<void> {
  try {
    await run(root, manifest)
  } catch (err) {
    console.error('peersite:', err)
    showProblem(err instanceof BootProblem
      ? { ...err.problem, manifest }
      : {
          title: 'This site could not start',
          paragraphs: [`The peersite loader failed: ${err instanceof Error ? err.message : String(err)}.`, 'Reloading the page may help.'],
          retry: true,
          manifest
        })
  }
}

async function run (root: string, manifest: SiteManifest): Promise<void> {
  if (insideShell()) {
    // The worker answered a frame navigation with the loader instead of a site page: never nest shells.
    status('This address is the peersite loader itself, not a page of the site.')
    return
  }
  const missing = missingFeatures()
  if (missing !== undefined) throw new BootProblem(missing)

  mark('boot')
  // Fetched while the worker starts (only the leader parses it; it is small and HTTP-cached for the others).
  const torrentFile = fetchTorrentFile(root)
  torrentFile.catch(() => {})
  status('Starting the service worker…')
  await registerAndControl(root)
  mark('controlled')

  const debug: PeersiteDebug = {
    root,
    manifest,
    leader: false,
    torrent: undefined,
    loaded: false,
    introductions: 0,
    stats: () => debug.torrent?.stats()
  }
  ;(window as unknown as { peersite: PeersiteDebug }).peersite = debug

  let firstRead: ReadProgress | undefined
  let painted!: () => void
  const firstPaint = new Promise<void>((resolve) => { painted = resolve })
  let delivered = false
  let bootError: Error | undefined
  const infoHash = manifest.infoHash.toLowerCase()
  const leadsNow = await electLeader(infoHash, () => {
    debug.leader = true
    mark('leader')
    const torrent = torrentFile
      .then(async (bytes) => await parseTorrentFile(bytes, manifest))
      .then((metainfo) => startTorrent(metainfo, manifest))
    serveWorker(infoHash, torrent, {
      onIntroduce: () => { debug.introductions++ },
      onProgress: (read) => {
        delivered = true
        if (firstRead === undefined || firstRead.path === read.path) firstRead = read
      }
    })
    torrent.then((t) => {
      debug.torrent = t
      // The rest of the site in the background, once the first page has painted (loader/prefetch.ts).
      void firstPaint.then(() => {
        const bytes = startPrefetch(t, prefetchLimitOf(manifest))
        mark('prefetch')
        debug.prefetch = bytes
      })
      addEventListener('pagehide', (event) => { if (!event.persisted) void t.destroy() })
    }, (err: Error) => {
      bootError = err
      console.error('peersite:', err)
      if (!debug.loaded) {
        showProblem({
          title: 'This site could not start',
          paragraphs: [`Its table of contents (site.torrent) could not be loaded: ${err.message}.`, 'Reloading the page may help.'],
          retry: true,
          manifest
        })
      }
    })
  })

  // Tests shorten the deadline with an init script; nothing else sets this.
  const override = (globalThis as { PEERSITE_DEADLINE_MS?: unknown }).PEERSITE_DEADLINE_MS
  const deadlineMs = typeof override === 'number' && override > 0 ? override : NOBODY_DEADLINE_MS
  const started = Date.now()
  const update = (): void => {
    if (debug.loaded || bootError !== undefined) return
    const name = manifest.name
    if (!debug.leader) {
      progress(`Loading ${name}…`, 'Through this site\'s other open tab, which is connected to its peers.')
      return
    }
    const stats = debug.torrent?.stats()
    const peers = stats?.peers ?? 0
    const peerText = peers === 0 ? 'Looking for visitors who share this site…' : `${peers} peer${peers === 1 ? '' : 's'} connected`
    const pageText = firstRead !== undefined && firstRead.length > 0
      ? ` · ${firstRead.path.split('/').pop() ?? firstRead.path}: ${formatBytes(firstRead.sent)} of ${formatBytes(firstRead.length)}`
      : ''
    progress(`Loading ${name} from its visitors`, peerText + pageText)
  }
  const ticker = setInterval(() => {
    if (Date.now() - started >= CARD_DELAY_MS) update()
  }, CARD_UPDATE_MS)
  const deadline = setTimeout(() => {
    // Something delivered (or a verified copy served by the worker) means the site is on its way: keep waiting.
    const downloaded = debug.torrent?.stats().downloaded ?? 0
    if (debug.loaded || delivered || downloaded > 0 || bootError !== undefined) return
    showProblem({
      title: 'Nobody is sharing this site right now',
      paragraphs: [
        `This site (${manifest.name}) is served by the browsers of its visitors, and none of them could be reached in ${Math.round(deadlineMs / 1000)} seconds. It is not lost: it comes back as soon as one of its visitors or its publisher is online again.`,
        'Try again later. This page keeps trying in the background and shows the site if someone appears.'
      ],
      retry: true,
      manifest
    })
  }, deadlineMs)

  status('')
  document.getElementById('peersite-status')?.remove()
  createShell({
    root,
    onLoad: (frame) => {
      if (!debug.loaded) {
        debug.loaded = true
        painted()
        clearInterval(ticker)
        clearTimeout(deadline)
        hideCard()
      }
      frame.contentWindow?.focus()
    }
  })
  void leadsNow
}
