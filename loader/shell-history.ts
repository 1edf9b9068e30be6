/**
 * The shell's history (loader/shell.ts), in peersite-later.js: no first site byte waits for it.
 *
 * A frame's navigations add entries to the window's joint session history, but those entries belong to the shell's
 * document of the moment: after a reload the new shell has a new frame, and Back over the old frame's entries did
 * nothing visible, then left the site. So the shell owns the history instead: every navigation of the site (a link,
 * a form GET, `location.assign`, a fragment, the site's own `history.pushState`) becomes an entry of the top window
 * (`history.pushState` there, marked with the frame document that made it), and the frame itself only ever replaces
 * its entry. Back and Forward then move the top window like on a plain host:
 *   - to an entry of the frame's current document (a pushState route, a fragment): the shell sets the frame's URL and
 *     state and fires `popstate` (and `hashchange`) in it, as the browser would;
 *   - to an entry of another document: the frame loads that URL (location.replace);
 *   - to an entry made before a reload: the browser loads the shell at that URL, which shows that page.
 * This needs the Navigation API's `navigate` event in the frame (Chromium 102+, Firefox 147+, Safari 26.2+);
 * without it the frame keeps its own entries (right until a reload). The shell hands the history over once the
 * first page has loaded (loader/main.ts): until then too the frame keeps its own entries.
 */
import type { HistoryHooks, ShellAccess } from './shell.js'

/** How long after the last scroll event the frame's position is written into the top window's entry. */
const SCROLL_NOTE_MS = 200

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

/** Takes over the top window's history for the shell `shell` (see the comment at the top). */
export function manageHistory (shell: ShellAccess): HistoryHooks {
  const { frame, mirror } = shell
  const shellId = Math.random().toString(36).slice(2)
  let docCount = 0
  /** The frame's current document, once taken over. */
  let currentDoc: string | undefined
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
    if (!dest.startsWith(shell.root)) {
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
      shell.restoreUrl = target
      win.location.replace(target)
      return
    }
    // What the browser does for a same-document traversal: URL and state, popstate, hashchange if the fragment moved.
    const replace = shell.frameReplace(win.history) ?? win.history.replaceState
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

  return {
    /** A new frame document (the shell calls this before its load event): its navigations become top entries. */
    attach: (doc, win) => {
      const navigation = (win as Window & { navigation?: EventTarget }).navigation
      if (typeof navigation?.addEventListener !== 'function') return false
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
        try { (shell.frameReplace(win.history) ?? win.history.replaceState).call(win.history, entry.state, '') } catch { /* not ours to insist */ }
      }
      return true
    },
    pushed: (win, state) => { pushTop(win.location.href, state, true) },
    replaced: (state) => { history.replaceState({ ...topEntry(), state }, '') }
  }
}
