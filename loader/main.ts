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
import { Bitfield } from '../engine/bitfield.js'
import { WebSocketTrackerDiscovery } from '../engine/discovery/websocket-tracker.js'
import { MemoryStore } from '../engine/storage/memory.js'
import { Torrent, type TorrentStats } from '../engine/torrent.js'
import { FOLLOW_SCRIPT, type SiteManifest } from '../worker/protocol.js'
import { BootProblem, missingFeatures, registerAndControl } from './boot.js'
import { completeMetainfo, fetchTorrentFile, joinSwarm, loadWebSeedCode, manifestLayout, mark, openStore, parseTorrentFile, persistStore, rtcConfigFor, startTorrent, storeBudget, webSeedsOf } from './engine-host.js'
import type { Follower, FollowInit } from './follow.js'
import { LatePointer } from './late-pointer.js'
import { lazyMetainfo } from './lazy-metainfo.js'
import { electLeader, serveWorker } from './leader.js'
import { PageHints, pageCandidates } from './preload.js'
import { later } from './lazy.js'
import type { BackgroundPrefetch } from './prefetch.js'
import { prefetchLimitOf, saveDataRequested } from './prefetch.js'
import { createShell, insideShell } from './shell.js'
import { formatBytes, hideCard, progress, showProblem, status } from './ui.js'

/** No byte from any peer by then (and no page shown): tell the visitor nobody shares the site right now. */
const NOBODY_DEADLINE_MS = 20_000
/** The progress card appears only if the first page takes longer than this (no flash on warm visits). */
const CARD_DELAY_MS = 300
const CARD_UPDATE_MS = 250
/**
 * A keyed site's first visit waits this long at most for a peer to tell the newest version before showing the one
 * the loader folder names (a new visitor sees the newest version at once, not the loader folder's first).
 */
const FIRST_VISIT_FOLLOW_MS = 6000

/**
 * The build variant: scripts/build-browser.mjs defines PEERSITE_KEYED as false for peersite.js and true for
 * peersite-keyed.js (what publish --key ships), so plain sites do not carry the keyed code.
 */
declare const PEERSITE_KEYED: boolean
/**
 * A plain site's build (scripts/build-browser.mjs; publish ships it to a site without `_redirects` rules, --spa, a
 * sectioned index or web seeds): no engine started without site.torrent, no web seeds.
 */
declare const PEERSITE_PLAIN: boolean

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
  /**
   * Set after the first page, once the pieces are stored where they persist (IndexedDB when it works): a first visit's
   * wait in memory until then (loader/engine-host.ts persistStore).
   */
  persisted?: boolean
  /** The first page and the files it needs (what the progress card counts; leader only). */
  firstPage?: { readonly path: string | undefined, readonly length: number, readonly files: readonly string[] }
  /** Ports handed to the worker (more than one: the worker restarted, or a new worker took over). */
  introductions: number
  /** A keyed site's version following (loader/follow.ts), once loaded. */
  follow?: Follower
  /** The shell manages the top window's history (loader/shell-history.ts, from peersite-later.js after the first page). */
  history?: boolean
  stats (): TorrentStats | undefined
}

/**
 * What the gateway loader (loader/gateway.ts) already has when it boots a site whose metadata it got from peers:
 * the torrent it built (used instead of fetching site.torrent) and the engine that fetched it (kept if this page
 * leads, so its peer connections are not made twice).
 */
export interface BootFrom {
  readonly torrentBytes: Uint8Array
  readonly torrent?: Torrent
}

export async function boot (root: string, manifest: SiteManifest, from?: BootFrom): Promise<void> {
  try {
    await run(root, manifest, from)
  } catch (err) {
    console.error('peersite:', err)
    if (err instanceof BootProblem) showProblem(err.code, manifest, err.detail)
    else showProblem('failed', manifest, err instanceof Error ? err.message : String(err))
  }
}

async function run (root: string, manifest: SiteManifest, from?: BootFrom): Promise<void> {
  if (insideShell()) {
    // The worker answered a frame navigation with the loader instead of a site page: never nest shells.
    status('This address is the peersite loader itself, not a page of the site.')
    return
  }
  const missing = missingFeatures()
  if (missing !== undefined) throw new BootProblem(missing)

  mark('boot')
  // A keyed site (publish --key): its torrents speak peersite_pointer from the start (late-pointer.ts).
  // Only in the keyed build (peersite-keyed.js, which publish --key ships as peersite.js): plain sites do not carry it.
  const late = PEERSITE_KEYED && manifest.address !== undefined ? new LatePointer() : undefined
  /** A first visit: no worker of ours controlled this page as it loaded (index.html may have registered one since: peersiteFirst). */
  const firstVisit = navigator.serviceWorker.controller === null || 'peersiteFirst' in globalThis
  let following: Promise<Follower> | undefined
  let startFollow!: (torrent: Torrent) => Promise<Follower>
  if (PEERSITE_KEYED) startFollow = (torrent) => {
    following ??= (import(new URL(FOLLOW_SCRIPT, root).href) as Promise<typeof import('./follow.js')>).then(async ({ follow }) => {
      const init: FollowInit = {
        root,
        manifest,
        torrent,
        late: late!,
        tell: progress,
        untell: hideCard,
        // No page shown yet (the version the loader folder names may have nobody left to share it): the new one now.
        onSwitched: () => { if (!debug.loaded) location.reload() },
        kit: { Torrent, MemoryStore, Bitfield, WebSocketTrackerDiscovery, openStore, startTorrent, manifestLayout, storeBudget, rtcConfigFor, serveWorker, serving: async () => (await later()).serving }
      }
      return debug.follow = await follow(init)
    })
    following.catch((err: unknown) => console.warn('peersite: cannot follow the site key:', err))
    return following
  }
  // Fetched while the worker starts (only the leader parses it; it is small and HTTP-cached for the others). A site
  // with a sectioned index starts without it: its file table is what a first visit must not wait for (lazy-metainfo.ts).
  const lazy = !PEERSITE_PLAIN && from === undefined && manifest.index !== undefined
  const torrentFile = from !== undefined ? Promise.resolve(from.torrentBytes) : lazy ? undefined : fetchTorrentFile(root)
  torrentFile?.catch(() => {})
  status('Starting the service worker…')
  // The worker installs while the leader already joins the swarm (the election and the engine need no worker):
  // on a first visit the peers are connected, and the first page's files on their way, by the time it controls.
  const controlled = registerAndControl(root)
  controlled.catch(() => {})
  /** A first visit's swarm, joined right after the election is asked for, not once it is won (below). */
  let early: ReturnType<typeof joinSwarm>

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

  /** The first page and what it needs (the progress card counts all of it): bytes sent to the worker per file. */
  const firstPage = { path: undefined as string | undefined, files: new Map<string, number>(), length: 0, sent: new Map<string, number>() }
  const setFirstPage = (path: string, hints: PageHints | undefined, known?: number): void => {
    if (firstPage.path !== undefined || debug.loaded) return
    const byPath = new Map(manifest.files.map((f) => [f.path, f.length]))
    const length = byPath.get(path) ?? known
    if (length === undefined) return
    firstPage.path = path
    firstPage.files.set(path, length)
    for (const index of hints?.needs(path) ?? []) {
      const file = manifest.files[index]
      if (file !== undefined) firstPage.files.set(file.path, file.length)
    }
    firstPage.length = [...firstPage.files.values()].reduce((a, b) => a + b, 0)
    debug.firstPage = { path, length: firstPage.length, files: [...firstPage.files.keys()] }
  }
  let painted!: () => void
  const firstPaint = new Promise<void>((resolve) => { painted = resolve })
  let delivered = false
  let bootError: Error | undefined
  /** A keyed site's first visit: whether the worker switched to a newer version before the first page. */
  let checkFirst = (_: Promise<boolean>): void => {}
  let firstFollow!: Promise<boolean>
  if (PEERSITE_KEYED) firstFollow = new Promise<boolean>((resolve) => { checkFirst = (p) => { p.then(resolve, () => resolve(false)) } })
  const infoHash = manifest.infoHash.toLowerCase()
  const leadsNow = electLeader(infoHash, () => {
    debug.leader = true
    mark('leader')
    const adopted = from?.torrent
    // On a first visit the swarm is joined while site.torrent is on its way (peersite.json has the infohash and the
    // trackers). Not on a return: the worker serves the stored pages without it, and the engine starts after the
    // site's load event (index.html: or after 3 s at most, or at once when the worker needs it), where five peer
    // connections gathering candidates at once took the main thread from the site's own start-up (monaco's usable
    // 1.6 s -> 4.6 s on a loaded machine). The store opens meanwhile either way.
    // A first visit has nothing stored: its pieces wait in memory for IndexedDB's code (persistStore, below).
    const opening = adopted === undefined || adopted.destroyed ? openStore(manifestLayout(manifest), storeBudget(manifest), firstVisit) : undefined
    const swarm = !firstVisit || opening === undefined ? undefined : early ??= joinSwarm(manifest)
    // Web seeds (BEP 19): their code loads beside site.torrent, and is attached before any read reaches the engine.
    const seeds = PEERSITE_PLAIN ? [] : webSeedsOf(root, manifest)
    const seedCode = !PEERSITE_PLAIN && opening !== undefined && seeds.length > 0 ? loadWebSeedCode(root) : undefined
    // (A plain build always fetches site.torrent: no lazy metainfo there.)
    const metainfoReady = !PEERSITE_PLAIN && torrentFile === undefined
      ? Promise.resolve(lazyMetainfo(manifest))
      : torrentFile!.then(async (bytes) => await parseTorrentFile(bytes, manifest))
    const made = opening === undefined
      ? Promise.resolve(adopted!)
      : metainfoReady.then(async (metainfo) => await startTorrent(metainfo, manifest, opening, late, swarm))
    const torrent = PEERSITE_PLAIN
      ? made
      : made.then(async (t) => {
        (await seedCode)?.attachWebSeeds(t, seeds)
        return t
      })
    torrent.catch(() => { void swarm?.discovery.destroy() })
    let hints: PageHints | undefined
    let prefetch: BackgroundPrefetch | undefined
    /** The first file the worker read, if it read before the torrent was ready. */
    let firstRead: string | undefined
    /** A sectioned index's needs of a page, if the worker sent them before the torrent was ready. */
    let firstPreload: (() => void) | undefined
    /** Reads the worker has open now (the prefetch, created after the first paint, starts with it). */
    let openReads = 0
    torrent.then((t) => {
      debug.torrent = t
      hints = new PageHints(t, manifest, !saveDataRequested())
      // The page in the address bar: its files are wanted now, before the worker controls this page and asks.
      const page = pageCandidates(location.pathname, root).find((path) => hints!.onPage(path, true))
      if (page !== undefined) setFirstPage(page, hints)
      else if (firstRead !== undefined) {
        hints.onPage(firstRead)
        setFirstPage(firstRead, hints)
      }
      firstPreload?.()
      // The rest of the site in the background, once the first page has loaded and the browser is idle, never
      // while the worker reads (loader/prefetch.ts, in peersite-later.js). Nothing with Save-Data on. A sectioned
      // index: once site.torrent has completed the metainfo, fetched after the first page.
      void firstPaint.then(async () => {
        if (!PEERSITE_PLAIN && lazy) await completeMetainfo(t, root, manifest)
        const { BackgroundPrefetch } = await later()
        prefetch = new BackgroundPrefetch(t, saveDataRequested() ? 0 : prefetchLimitOf(manifest), () => mark('prefetch'))
        prefetch.onActivity(openReads)
        prefetch.pageLoaded()
        debug.prefetch = prefetch.bytes
      }).catch((err: unknown) => { console.debug('peersite: no background prefetch:', err) })
      // Serving other visitors (every visitor reseeds) and storing in IndexedDB start once the first page has painted:
      // their code is not part of the first download (engine/serving.ts, engine/storage/idb.ts). Until then peers see
      // us choking them, and a first visit's pieces are in memory.
      void firstPaint.then(async () => {
        t.serve((await later()).serving)
        await persistStore(t, storeBudget(manifest))
        debug.persisted = true
      }).catch((err: unknown) => { console.warn('peersite: after the first page:', err) })
      if (PEERSITE_KEYED) void firstPaint.then(() => { if (late !== undefined) void startFollow(t) })
      if (PEERSITE_KEYED && late !== undefined && firstVisit) checkFirst(startFollow(t).then(async (f) => await f.checked(FIRST_VISIT_FOLLOW_MS)))
      addEventListener('pagehide', (event) => { if (!event.persisted) void t.destroy() })
    }, (err: Error) => {
      if (PEERSITE_KEYED) checkFirst(Promise.resolve(false))
      bootError = err
      console.error('peersite:', err)
      if (!debug.loaded) showProblem('no-torrent', manifest, err.message)
    })
    // Introductions wait for the worker's control (serveWorker introduces itself on `controllerchange` too).
    void controlled.then(() => {
      serveWorker(infoHash, torrent, {
        onIntroduce: () => { debug.introductions++ },
        onRead: (path) => {
          // A read before the torrent is ready (site.torrent still loading): its page is decided once it is.
          if (hints === undefined) {
            firstRead ??= path
            return
          }
          hints.onPage(path)
          setFirstPage(path, hints)
        },
        onPreload: PEERSITE_PLAIN ? undefined : ({ page, needs, likely }) => {
          // Marked (the tests and the debug log see it) when something was raised.
          const raise = (): void => { if (hints!.onRanges(page, needs, likely)) performance.mark('peersite:preload', { detail: page }) }
          // Both parts of a page's needs may come before the torrent is ready: the second adds to the first.
          if (hints === undefined) {
            const before = firstPreload
            firstPreload = () => { before?.(); raise() }
          } else raise()
        },
        onActivity: (open) => {
          openReads = open
          prefetch?.onActivity(open)
        },
        onProgress: (read) => {
          delivered = true
          // A sectioned index: no file table here, the first read tells the page's length.
          setFirstPage(read.path, undefined, read.length)
          if (firstPage.files.has(read.path)) firstPage.sent.set(read.path, Math.min(read.sent, firstPage.files.get(read.path)!))
        }
      })
    }, () => {})
  })
  // A first visit joins the swarm now, not once the election is won: the Web Lock's answer waited 20-180 ms behind
  // this task and the ones queued after it on a loaded machine. Asked for first, the lock is granted while the offers
  // are made. Another tab leads only if two first visits race, and then this one leaves the swarm again (below).
  if (firstVisit && from?.torrent === undefined) early ??= joinSwarm(manifest)
  // Another tab leads: its engine is in the swarm already.
  void leadsNow.then((now) => {
    if (now) return
    void early?.discovery.destroy()
    early = undefined
  })
  await controlled
  mark('controlled')
  if (PEERSITE_KEYED && late !== undefined && firstVisit && debug.leader) {
    // Before the first page: a newer version, if a peer knows one, is what this visitor should see.
    // Bounded: a newer version whose metadata does not come is shown later (at the next navigation).
    if (await Promise.race([firstFollow, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2 * FIRST_VISIT_FOLLOW_MS))])) {
      location.reload()
      return
    }
  }

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
    const sent = [...firstPage.sent.values()].reduce((a, b) => a + b, 0)
    const others = firstPage.files.size - 1
    const pageText = firstPage.path !== undefined && firstPage.length > 0
      ? ` · ${firstPage.path.split('/').pop() ?? firstPage.path}${others > 0 ? ` and ${others} file${others === 1 ? '' : 's'}` : ''}: ${formatBytes(sent)} of ${formatBytes(firstPage.length)}`
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
    showProblem('nobody', manifest, '', Math.round(deadlineMs / 1000))
  }, deadlineMs)

  document.getElementById('peersite-status')?.remove()
  const shell = createShell({
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
  // Back, Forward and reloads as on a plain host, and the site's icon: the code comes with peersite-later.js, after
  // the first page.
  void firstPaint.then(async () => {
    const { manageHistory, iconMirror } = await later()
    shell.manageHistory(manageHistory)
    debug.history = true
    shell.mirrorIcons(iconMirror())
  }).catch((err: unknown) => { console.warn('peersite: no history handling:', err) })
  // Another tab leads: the engine the gateway loader started for the metadata is not needed here.
  void leadsNow.then((now) => { if (!now) void from?.torrent?.destroy() })
}
