/**
 * The window's icon as the site's (loader/shell.ts mirrorIcons), in peersite-later.js: a tab icon is not what the
 * first page waits for. Until it loads, the window shows the loader's empty icon.
 */

/** A mirror of frame documents' icons into this window (one per shell: it remembers the icon shown). */
export function iconMirror (): (doc: Document) => void {
  let iconUrl: string | undefined
  return (doc) => {
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
}
