/**
 * The persistent shell: the site is shown in a full-window same-origin frame, and every navigation happens inside
 * it, so this page (and with it the engine and its peer connections) survives them all. After each load the
 * shell mirrors the frame into the window: the address bar (history.replaceState: the visitor sees, bookmarks and
 * shares the site's real paths), the title and the icon. It also routes the site's download links through the
 * service worker (see `download` below).
 *
 * History. A frame's navigations add entries to the window's joint session history, but those entries belong to
 * the shell's document of the moment: after a reload the new shell has a new frame, and Back over the old frame's
 * entries did nothing visible, then left the site. So the shell owns the history instead: every navigation of the
 * site (a link, a form GET, `location.assign`, a fragment, the site's own `history.pushState`) becomes an entry of
 * the top window (`history.pushState` there, marked with the frame document that made it), and the frame itself only
 * ever replaces its entry. Back and Forward then move the top window like on a plain host:
 *   - to an entry of the frame's current document (a pushState route, a fragment): the shell sets the frame's URL and
 *     state and fires `popstate` (and `hashchange`) in it, as the browser would;
 *   - to an entry of another document: the frame loads that URL (location.replace);
 *   - to an entry made before a reload: the browser loads the shell at that URL, which shows that page.
 * This needs the Navigation API's `navigate` event in the frame (Chromium 102+, Firefox 147+, Safari 26.2+);
 * without it the frame keeps its own entries (right until a reload).
 */
import { DOWNLOAD_PARAM } from '../worker/protocol.js'

export const FRAME_ID = 'peersite-frame'
const DOWNLOAD_FRAME_ID = 'peersite-download'
/** How long after the last scroll event the frame's position is written into the top window's entry. */
const SCROLL_NOTE_MS = 200
const FRAME_STYLE = 'position:fixed;inset:0;width:100%;height:100%;border:0;display:block'

/** What the shell keeps in each of the top window's history entries. */
interface TopEntry {
  readonly peersite: 1
  /** The site's own `history.state` for the entry (its pushState argument). */
  readonly state: unknown
  /** The frame document the entry belongs to: entries of the current document are same-document traversals. */
  readonly doc?: string
  /** The frame's scroll position when the visitor left the entry. */
  readonly scroll?: readonly [number, number]
}

/** The part of the Navigation API the shell uses (not in TypeScript's DOM library yet). */
interface NavigateEventLike extends Event {
  readonly navigationType: 'push' | 'replace' | 'reload' | 'traverse'
  readonly destination: { readonly url: string, readonly sameDocument: boolean }
  readonly hashChange: boolean
  readonly formData: FormData | null
  readonly downloadRequest: string | null
}

function isTopEntry (state: unknown): state is TopEntry {
  return typeof state === 'object' && state !== null && (state as { peersite?: unknown }).peersite === 1
}

const withoutHash = (href: string): string => href.split('#')[0] ?? href

export interface ShellInit {
  /** The site root (links outside it leave the shell). */
  root: string
  /** Called after each load of a site page in the frame. */
  onLoad?: (frame: HTMLIFrameElement) => void
}

/** Whether this document is itself inside a peersite shell's frame (a loader page served where a site page belongs). */
export function insideShell (): boolean {
  try {
    return window.frameElement?.id === FRAME_ID
  } catch {
    return false
  }
}

export function createShell (init: ShellInit): HTMLIFrameElement {
  // A returning visitor's index.html starts the frame itself before this script has loaded (its worker serves
  // verified copies at once): adopt that frame rather than load the page twice.
  const early = document.getElementById(FRAME_ID)
  const frame = early instanceof HTMLIFrameElement ? early : document.createElement('iframe')
  frame.id = FRAME_ID
  // The whole window, whatever else the page has styled (or not yet): the site is the page.
  frame.style.cssText = FRAME_STYLE
  frame.title = 'site'
  frame.allow = 'fullscreen; autoplay; clipboard-read; clipboard-write; picture-in-picture'
  let iconUrl: string | undefined
  let titleObserver: MutationObserver | undefined

  /** The frame's document and window when they are ours to touch (same origin, both present); else undefined. */
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

  // --- history: the top window's entries are the site's (see the comment at the top) ---
  const shellId = Math.random().toString(36).slice(2)
  let docCount = 0
  /** The frame's current document, once attached. */
  let currentDoc: string | undefined
  const attached = new WeakSet<Document>()
  /** The original `replaceState` of each frame window's History (the site sees a wrapped one). */
  const frameReplace = new WeakMap<History, History['replaceState']>()
  /**
   * The URL of the top entry shown again (a traversal to another document, a reload): every document that loads
   * at it gets the entry's scroll position back. Every one, not only the first: on a traversal the browser may also
   * load the frame itself (the frame's own item in the joint session history, once a reload has left the entries
   * holding different frame documents) beside the shell's `location.replace`, and the document that commits second
   * would otherwise show the page at its top. A new page (a link) has a new entry with no position; the site's own
   * `location.replace` elsewhere does not match.
   */
  let restoreUrl: string | undefined
  /** A navigation to another document is under way: its top entry is pushed when that document appears. */
  let pendingPush: { scroll?: readonly [number, number] } | undefined

  const topEntry = (): TopEntry => isTopEntry(history.state) ? history.state : { peersite: 1, state: null }
  const frameScroll = (): [number, number] | undefined => {
    const win = frame.contentWindow
    return win === null ? undefined : [win.scrollX, win.scrollY]
  }
  /**
   * A new top entry for `href`, after noting where the visitor was in the one it leaves. An entry for another
   * document gets its mark when that document appears (`attach`).
   */
  const pushTop = (href: string, state: unknown, sameDocument: boolean): void => {
    const scroll = frameScroll()
    history.replaceState({ ...topEntry(), ...(scroll !== undefined ? { scroll } : {}) }, '')
    const entry: TopEntry = { peersite: 1, state, ...(sameDocument && currentDoc !== undefined ? { doc: currentDoc } : {}) }
    history.pushState(entry, '', href)
  }

  /** A navigation of the frame that would add an entry: the frame replaces its entry, the top window gets one. */
  const onNavigate = (win: Window) => (event: Event): void => {
    const e = event as NavigateEventLike
    if (e.navigationType !== 'push' || !e.cancelable || e.formData !== null || e.downloadRequest !== null) return
    const dest = e.destination.url
    // The site's own pushState through a reference taken before the shell wrapped it: let it be (a frame entry).
    if (e.destination.sameDocument && !e.hashChange) return
    if (!dest.startsWith(init.root)) {
      // Out of the site (`location.href = 'https://…'`): on a plain host that is the whole window.
      if (e.destination.sameDocument) return
      e.preventDefault()
      location.href = dest
      return
    }
    e.preventDefault()
    if (e.destination.sameDocument) {
      // A fragment: same document (scroll, hashchange); its entry is the top window's at once.
      pushTop(dest, null, true)
    } else {
      // Another document: the top entry is pushed when it commits (`attach`), with its final URL (after redirects).
      // A response that makes no document (a download, a 204) then adds no entry and leaves the address, as on a
      // plain host.
      const scroll = frameScroll()
      pendingPush = scroll !== undefined ? { scroll } : {}
    }
    win.location.replace(dest)
  }

  /** Back or Forward moved the top window to another entry: show it in the frame. */
  const onPopState = (event: PopStateEvent): void => {
    pendingPush = undefined // a traversal replaces whatever navigation was under way
    const target = location.href
    const entry: TopEntry = isTopEntry(event.state) ? event.state : { peersite: 1, state: null }
    // An entry without our mark (a fragment typed in the address bar): mark it, it is now the frame's current one.
    if (!isTopEntry(event.state)) history.replaceState({ ...entry, ...(currentDoc !== undefined ? { doc: currentDoc } : {}) }, '')
    const win = frame.contentWindow
    let current: string
    try {
      current = win?.location.href ?? ''
    } catch {
      frame.src = target
      return
    }
    if (win === null) return
    const sameDocument = entry.doc !== undefined ? entry.doc === currentDoc : withoutHash(current) === withoutHash(target)
    if (!sameDocument) {
      restoreUrl = target
      win.location.replace(target)
      return
    }
    // What the browser does for a same-document traversal: URL and state, popstate, hashchange if the fragment moved.
    const replace = frameReplace.get(win.history) ?? win.history.replaceState
    replace.call(win.history, entry.state, '', target)
    const frameWin = win as Window & typeof globalThis
    win.dispatchEvent(new frameWin.PopStateEvent('popstate', { state: entry.state }))
    if (withoutHash(current) === withoutHash(target) && current !== target) {
      win.dispatchEvent(new frameWin.HashChangeEvent('hashchange', { oldURL: current, newURL: target }))
    }
    if (entry.scroll !== undefined) win.scrollTo(entry.scroll[0], entry.scroll[1])
    else if (new URL(target).hash !== '') frame.contentDocument?.getElementById(decodeURIComponent(new URL(target).hash.slice(1)))?.scrollIntoView()
    mirror()
  }
  addEventListener('popstate', onPopState)
  if (!isTopEntry(history.state)) history.replaceState({ peersite: 1, state: null }, '')
  // A reload (or a traversal back to this entry from another site) shows the frame where the visitor left it.
  restoreUrl = location.href
  // The position is noted as the visitor scrolls (a little after, to stay far below the browsers' limits on
  // replaceState calls): writing it on pagehide is too late for a traversal to another document, and for a reload
  // too (Chromium drops the state written then). A note still pending when the window reloads is written on
  // beforeunload, which both Chromium and Firefox keep; that listener is there only while a note is pending, since
  // one can keep a page out of the back/forward cache.
  let scrollTimer: ReturnType<typeof setTimeout> | undefined
  let scrollNote: (() => void) | undefined
  const flushScroll = (): void => {
    clearTimeout(scrollTimer)
    removeEventListener('beforeunload', flushScroll)
    const note = scrollNote
    scrollNote = undefined
    note?.()
  }
  const noteScroll = (doc: string | undefined) => (): void => {
    clearTimeout(scrollTimer)
    scrollNote = () => {
      const scroll = frameScroll()
      if (scroll !== undefined && doc !== undefined && doc === currentDoc && topEntry().doc === doc) history.replaceState({ ...topEntry(), scroll }, '')
    }
    scrollTimer = setTimeout(flushScroll, SCROLL_NOTE_MS)
    addEventListener('beforeunload', flushScroll)
  }

  /**
   * Takes over a new frame document as soon as it exists (before its load event, so a click during a slow load is
   * caught too): the navigate listener, the wrapped history methods, the click handlers. Idempotent.
   */
  const attach = (): void => {
    const { doc, win } = frameContext() ?? {}
    if (doc === undefined || win === undefined || attached.has(doc) || doc.URL === 'about:blank') return
    attached.add(doc)
    const navigation = (win as Window & { navigation?: EventTarget }).navigation
    const managed = typeof navigation?.addEventListener === 'function'
    if (managed) {
      if (pendingPush !== undefined) {
        history.replaceState({ ...topEntry(), ...(pendingPush.scroll !== undefined ? { scroll: pendingPush.scroll } : {}) }, '')
        history.pushState({ peersite: 1, state: null }, '', win.location.href)
        pendingPush = undefined
      }
      currentDoc = `${shellId}-${++docCount}`
      // The top entry showing this document now belongs to it (a new page, a traversal, a reload).
      const entry = topEntry()
      history.replaceState({ ...entry, doc: currentDoc }, '')
      navigation.addEventListener('navigate', onNavigate(win))
      win.addEventListener('scroll', noteScroll(currentDoc), { passive: true })
      // The shell restores the position itself (the frame's own entries are not the ones traversed).
      if (win.history.scrollRestoration === 'auto') win.history.scrollRestoration = 'manual'
      // A page loaded again for an entry the site had given a state (a reload, a traversal to a route of a
      // document that is gone) finds that state in history.state, as on a plain host.
      if (entry.state !== null && entry.state !== undefined && win.location.href === location.href) {
        try { win.history.replaceState(entry.state, '') } catch { /* not ours to insist */ }
      }
    }
    // Same-document navigations (fragments, history.pushState in single-page apps) fire no load event.
    win.addEventListener('hashchange', mirror)
    win.addEventListener('popstate', mirror)
    const frameHistory = win.history
    const originalPush = frameHistory.pushState
    const originalReplace = frameHistory.replaceState
    frameReplace.set(frameHistory, originalReplace)
    const frameWin = win
    frameHistory.pushState = function (this: History, ...args: Parameters<History['pushState']>) {
      if (!managed) {
        originalPush.apply(this, args)
        mirror()
        return
      }
      // The frame's entry is replaced (state and URL, as pushState would set them); the top window gets the entry.
      originalReplace.apply(this, args)
      pushTop(frameWin.location.href, args[0], true)
      mirror()
    }
    frameHistory.replaceState = function (this: History, ...args: Parameters<History['replaceState']>) {
      originalReplace.apply(this, args)
      if (managed) history.replaceState({ ...topEntry(), state: args[0] }, '')
      mirror()
    }
    doc.addEventListener('click', leaveShell)
    doc.addEventListener('click', download)
  }
  // A new document appears in the frame at its commit; its load event may be seconds later.
  const poll = setInterval(attach, 50)
  addEventListener('pagehide', (event) => { if (!event.persisted) clearInterval(poll) })

  const mirrorIcon = (doc: Document): void => {
    const link = doc.querySelector<HTMLLinkElement>('link[rel~="icon"]')
    const href = link?.href ?? ''
    let shellIcon = document.querySelector<HTMLLinkElement>('link[rel~="icon"]')
    if (shellIcon === null) {
      shellIcon = document.createElement('link')
      shellIcon.rel = 'icon'
      document.head.append(shellIcon)
    }
    if (href === '' || href === iconUrl) {
      if (href === '') shellIcon.href = 'data:,'
      return
    }
    iconUrl = href
    // The browser fetches a window's icon outside the service worker; fetched here, it comes from the site (peers).
    void fetch(href).then(async (res) => {
      if (!res.ok || iconUrl !== href) return
      const blob = await res.blob()
      const old = shellIcon.href
      shellIcon.href = URL.createObjectURL(blob)
      if (old.startsWith('blob:')) URL.revokeObjectURL(old)
    }).catch(() => {})
  }

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

  // Chromium sends the request of a link with the `download` attribute straight to the network, past the service
  // worker (https://issues.chromium.org/issues/40410035), and the host has only the loader. So such a click in the
  // site becomes a navigation of a hidden frame, which the worker does answer, with DOWNLOAD_PARAM asking for
  // `Content-Disposition: attachment`: the browser's download manager then saves the stream as it arrives.
  const download = (event: MouseEvent): void => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    const link = (event.target as Element | null)?.closest?.('a[href][download], area[href][download]') as HTMLAnchorElement | HTMLAreaElement | null
    if (link === null) return
    const url = new URL(link.href, link.baseURI)
    if (!url.href.startsWith(init.root)) return // another site (or blob:, data:): the browser's own business
    event.preventDefault()
    url.searchParams.set(DOWNLOAD_PARAM, link.download)
    let hidden = document.getElementById(DOWNLOAD_FRAME_ID)
    if (!(hidden instanceof HTMLIFrameElement)) {
      hidden = document.createElement('iframe')
      hidden.id = DOWNLOAD_FRAME_ID
      hidden.style.display = 'none'
      document.body.append(hidden)
    }
    // replace(): no history entry, should the worker answer with a page (504) rather than a download.
    ;(hidden as HTMLIFrameElement).contentWindow?.location.replace(url.href)
  }

  const watch = (): void => {
    const { doc, win } = frameContext() ?? {}
    if (doc === undefined || win === undefined) return
    attach()
    mirror()
    mirrorIcon(doc)
    titleObserver?.disconnect()
    titleObserver = new MutationObserver(() => mirror())
    titleObserver.observe(doc.head ?? doc.documentElement, { subtree: true, childList: true, characterData: true })
    // The top entry's position now (noted as the visitor scrolled, or when it was left): the site's own reload of
    // the page returns to where the visitor was, as on a plain host.
    const scroll = win.location.href === restoreUrl ? topEntry().scroll : undefined
    if (scroll !== undefined) win.scrollTo(scroll[0], scroll[1])
    init.onLoad?.(frame)
  }

  frame.addEventListener('load', watch)
  if (frame === early) {
    let loaded = false
    try {
      loaded = frame.contentDocument?.readyState === 'complete' && frame.contentWindow?.location.href !== 'about:blank'
    } catch {}
    if (loaded) watch()
    return frame
  }
  // The frame loads this very URL: the worker answers frame navigations with the site's own pages.
  frame.src = location.href
  document.body.append(frame)
  return frame
}
