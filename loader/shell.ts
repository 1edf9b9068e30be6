/**
 * The persistent shell: the site is shown in a full-window same-origin frame, and every navigation happens inside
 * it, so this page (and with it the engine and its peer connections) survives them all. After each load the
 * shell mirrors the frame into the window: the address bar (history.replaceState: the visitor sees, bookmarks and
 * shares the site's real paths), the title and the icon. It also routes the site's download links through the
 * service worker (see `download` below).
 */
import { DOWNLOAD_PARAM } from '../worker/protocol.js'

export const FRAME_ID = 'peersite-frame'
const DOWNLOAD_FRAME_ID = 'peersite-download'
const FRAME_STYLE = 'position:fixed;inset:0;width:100%;height:100%;border:0;display:block'

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
    let doc: Document | null
    let win: Window | null
    try {
      doc = frame.contentDocument
      win = frame.contentWindow
    } catch {
      return
    }
    if (doc === null || win === null) return
    mirror()
    mirrorIcon(doc)
    titleObserver?.disconnect()
    titleObserver = new MutationObserver(() => mirror())
    titleObserver.observe(doc.head ?? doc.documentElement, { subtree: true, childList: true, characterData: true })
    // Same-document navigations (fragments, history.pushState in single-page apps) fire no load event.
    win.addEventListener('hashchange', mirror)
    win.addEventListener('popstate', mirror)
    const history = win.history
    for (const method of ['pushState', 'replaceState'] as const) {
      const original = history[method]
      history[method] = function (this: History, ...args: Parameters<History['pushState']>) {
        original.apply(this, args)
        mirror()
      }
    }
    doc.addEventListener('click', leaveShell)
    doc.addEventListener('click', download)
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
