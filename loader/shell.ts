/**
 * The persistent shell: the site is shown in a full-window same-origin frame, and every navigation happens inside
 * it, so this page (and with it the engine and its peer connections) survives them all. The shell mirrors the frame
 * into the window: the address bar from each document's commit (history.replaceState: the visitor sees, bookmarks
 * and shares the site's real paths), the title as soon as it is parsed and (after the first page,
 * loader/shell-icon.ts) the icon at each load. It also routes the site's download links through the
 * service worker (see `download` below; the saving itself is loader/shell-download.ts, in peersite-later.js).
 *
 * History: the shell owns the top window's entries, so that Back and Forward work as on a plain host, also after a
 * reload (loader/shell-history.ts says how). That code is in peersite-later.js: no first site byte waits for it.
 * `manageHistory` hands it over once the first page has loaded, and it takes over the frame's current document then
 * and every later one as soon as it appears. Until then (and in browsers without the Navigation API) the frame keeps
 * its own entries, which is right until a reload.
 */
import { DOWNLOAD_PARAM } from '../worker/protocol.js'
import { later } from './lazy.js'

export const FRAME_ID = 'peersite-frame'

export interface ShellInit {
  /** The site root (links outside it leave the shell). */
  root: string
  /** Called after each load of a site page in the frame. */
  onLoad?: (frame: HTMLIFrameElement) => void
}

/** What the history code (loader/shell-history.ts) gets of the shell. */
export interface ShellAccess {
  readonly frame: HTMLIFrameElement
  readonly root: string
  /** Copies the frame's address and title into the window. */
  mirror (): void
  /** The frame's document and window when they are ours to touch (same origin, both present); else undefined. */
  frameContext (): { doc: Document, win: Window } | undefined
  /** The original `replaceState` of a frame window's History (the site sees a wrapped one). */
  frameReplace (history: History): History['replaceState'] | undefined
  /**
   * The URL of the top entry shown again (a traversal to another document, a reload): every document that loads
   * at it gets the entry's scroll position back. Every one, not only the first: on a traversal the browser may also
   * load the frame itself (the frame's own item in the joint session history, once a reload has left the entries
   * holding different frame documents) beside the shell's `location.replace`, and the document that commits second
   * would otherwise show the page at its top. A new page (a link) has a new entry with no position; the site's own
   * `location.replace` elsewhere does not match.
   */
  restoreUrl: string | undefined
}

/** What the history code does for the shell (loader/shell-history.ts manageHistory). */
export interface HistoryHooks {
  /** A new frame document: take it over. False when it cannot (no Navigation API in the frame). */
  attach (doc: Document, win: Window): boolean
  /** The site's own `history.pushState` in a document taken over, after the frame replaced its entry. */
  pushed (win: Window, state: unknown): void
  /** The site's own `history.replaceState` in a document taken over. */
  replaced (state: unknown): void
}

export interface Shell {
  readonly frame: HTMLIFrameElement
  /** Hands the top window's history to `manage` (loader/shell-history.ts), once. */
  manageHistory (manage: (access: ShellAccess) => HistoryHooks): void
  /** From now on the window shows each frame document's icon (`mirror`: loader/shell-icon.ts), the current one's too. */
  mirrorIcons (mirror: (doc: Document) => void): void
}

/** Whether this document is itself inside a peersite shell's frame (a loader page served where a site page belongs). */
export function insideShell (): boolean {
  try {
    return window.frameElement?.id === FRAME_ID
  } catch {
    return false
  }
}

export function createShell (init: ShellInit): Shell {
  // A returning visitor's index.html starts the frame itself before this script has loaded (its worker serves
  // verified copies at once): adopt that frame rather than load the page twice.
  const early = document.getElementById(FRAME_ID)
  const frame = early instanceof HTMLIFrameElement ? early : document.createElement('iframe')
  frame.id = FRAME_ID
  // The whole window: the shell page's own style sheet (loader/index.html, gateway.html) styles it by its id.
  frame.title = 'site'
  frame.allow = 'fullscreen; autoplay; clipboard-read; clipboard-write; picture-in-picture'
  /** Mirrors a frame document's icon into the window (loader/shell-icon.ts, after the first page: see mirrorIcons). */
  let mirrorIcon: ((doc: Document) => void) | undefined
  let titleObserver: MutationObserver | undefined

  const frameContext = (): { doc: Document, win: Window } | undefined => {
    try {
      const doc = frame.contentDocument
      const win = frame.contentWindow
      return doc === null || win === null ? undefined : { doc, win }
    } catch {
      return undefined
    }
  }

  const mirror = (): void => {
    const win = frame.contentWindow
    let doc: Document | null = null
    let href: string
    try {
      href = win?.location.href ?? ''
      doc = frame.contentDocument
    } catch {
      return // cross-origin: not ours to mirror
    }
    if (doc === null || href === '' || href === 'about:blank') return
    if (href !== location.href) history.replaceState(history.state, '', href)
    document.title = doc.title !== '' ? doc.title : new URL(href).pathname
  }

  const attached = new WeakSet<Document>()
  /** The frame documents the history code took over. */
  const managed = new WeakSet<Document>()
  const frameReplace = new WeakMap<History, History['replaceState']>()
  let hooks: HistoryHooks | undefined
  const access: ShellAccess = {
    frame,
    root: init.root,
    mirror,
    frameContext,
    frameReplace: (h) => frameReplace.get(h),
    // A reload (or a traversal back to this entry from another site) shows the frame where the visitor left it.
    restoreUrl: location.href
  }

  /**
   * Takes over a new frame document as soon as it exists (before its load event, so a click during a slow load is
   * caught too): the wrapped history methods, the click handlers, and the history code's own hooks. Idempotent.
   */
  const attach = (): void => {
    const { doc, win } = frameContext() ?? {}
    if (doc === undefined || win === undefined || attached.has(doc) || doc.URL === 'about:blank') return
    attached.add(doc)
    if (hooks?.attach(doc, win) === true) managed.add(doc)
    // Same-document navigations (fragments, history.pushState in single-page apps) fire no load event. The title,
    // once parsed, at DOMContentLoaded (it bubbles to the window); `watch` mirrors it again at the load event.
    win.addEventListener('hashchange', mirror)
    win.addEventListener('popstate', mirror)
    win.addEventListener('DOMContentLoaded', mirror)
    const frameHistory = win.history
    const originalPush = frameHistory.pushState
    const originalReplace = frameHistory.replaceState
    frameReplace.set(frameHistory, originalReplace)
    frameHistory.pushState = function (this: History, ...args: Parameters<History['pushState']>) {
      if (hooks === undefined || !managed.has(doc)) {
        originalPush.apply(this, args)
        mirror()
        return
      }
      // The frame's entry is replaced (state and URL, as pushState would set them); the top window gets the entry.
      originalReplace.apply(this, args)
      hooks.pushed(win, args[0])
      mirror()
    }
    frameHistory.replaceState = function (this: History, ...args: Parameters<History['replaceState']>) {
      originalReplace.apply(this, args)
      if (hooks !== undefined && managed.has(doc)) hooks.replaced(args[0])
      mirror()
    }
    doc.addEventListener('click', leaveShell)
    doc.addEventListener('click', download)
    // The window shows the new page's address from its commit, as a plain host's address bar does: a reload (or a
    // copy of the address) before the page's load event, which a slow image can hold back for long, must not get
    // the page before. After the history code's own entry for it (attach above), so that entry is not rewritten.
    mirror()
  }
  // A new document appears in the frame at its commit; its load event may be seconds later.
  const poll = setInterval(attach, 50)
  addEventListener('pagehide', (event) => { if (!event.persisted) clearInterval(poll) })

  const leaveShell = (event: MouseEvent): void => {
    // Links to other sites open in the whole window: the shell cannot mirror them and they may refuse framing.
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    const anchor = (event.target as Element | null)?.closest?.('a[href]') as HTMLAnchorElement | null
    if (anchor === null || (anchor.target !== '' && anchor.target !== '_self')) return
    const url = new URL(anchor.href, anchor.baseURI)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return
    if (url.href.startsWith(init.root)) return
    event.preventDefault()
    location.href = url.href
  }

  // A download link of the site: Chromium would send its request past the service worker, to a host that has only
  // the loader. The click is taken here, the file saved by peersite-later.js's code (loader/shell-download.ts).
  const download = (event: MouseEvent): void => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    const link = (event.target as Element | null)?.closest?.('a[href][download], area[href][download]') as HTMLAnchorElement | HTMLAreaElement | null
    if (link === null) return
    const url = new URL(link.href, link.baseURI)
    if (!url.href.startsWith(init.root)) return // another site (or blob:, data:): the browser's own business
    event.preventDefault()
    // DOWNLOAD_PARAM asks the worker for `Content-Disposition: attachment` under the link's name.
    url.searchParams.set(DOWNLOAD_PARAM, link.download)
    // Without peersite-later.js (its request failed), the top page goes to the file: the worker's attachment answer
    // saves it and the page stays.
    later().then((l) => l.downloadThroughWorker(url), (err: unknown) => { console.warn('peersite:', err); location.assign(url.href) })
  }

  const watch = (): void => {
    const { doc, win } = frameContext() ?? {}
    if (doc === undefined || win === undefined) return
    attach()
    mirror()
    mirrorIcon?.(doc)
    titleObserver?.disconnect()
    titleObserver = new MutationObserver(() => mirror())
    titleObserver.observe(doc.head ?? doc.documentElement, { subtree: true, childList: true, characterData: true })
    // The top entry's position now (noted as the visitor scrolled, or when it was left): the site's own reload of
    // the page returns to where the visitor was, as on a plain host.
    const top = history.state as { peersite?: unknown, scroll?: readonly [number, number] } | null
    if (win.location.href === access.restoreUrl && top?.peersite === 1 && top.scroll !== undefined) win.scrollTo(top.scroll[0], top.scroll[1])
    init.onLoad?.(frame)
  }

  const shell: Shell = {
    frame,
    manageHistory: (manage) => {
      if (hooks !== undefined) return
      hooks = manage(access)
      // The document already in the frame is taken over now; the next ones as they appear (attach).
      const { doc, win } = frameContext() ?? {}
      if (doc !== undefined && win !== undefined && attached.has(doc) && hooks.attach(doc, win)) managed.add(doc)
    },
    mirrorIcons: (mirror) => {
      mirrorIcon = mirror
      const { doc } = frameContext() ?? {}
      if (doc !== undefined && doc.readyState === 'complete' && doc.URL !== 'about:blank') mirror(doc)
    }
  }

  frame.addEventListener('load', watch)
  if (frame === early) {
    let loaded = false
    try {
      loaded = frame.contentDocument?.readyState === 'complete' && frame.contentWindow?.location.href !== 'about:blank'
    } catch {}
    if (loaded) watch()
    return shell
  }
  // The frame loads this very URL: the worker answers frame navigations with the site's own pages.
  frame.src = location.href
  document.body.append(frame)
  return shell
}
