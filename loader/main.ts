/**
 * The loader page's script (placeholder): registers the service worker next to it and shows a status line.
 * A later issue boots the engine here and answers the worker's requests.
 *
 * URLs are relative to this script, so the loader works under any sub-path (https://host/some/site/).
 */

function status (text: string): void {
  const el = document.getElementById('peersite-status')
  if (el !== null) el.textContent = text
}

async function main (): Promise<void> {
  if (!('serviceWorker' in navigator)) {
    status('This browser cannot run peersite sites: no service worker support (or not a secure context).')
    return
  }
  // sw.js sits beside peersite.js; its default scope is the directory it is served from: the site root.
  const swUrl = new URL('./sw.js', import.meta.url)
  try {
    await navigator.serviceWorker.register(swUrl, { type: 'classic' })
    status('Service worker registered. Connecting to peers…')
  } catch (err) {
    status(`Could not register the service worker: ${err instanceof Error ? err.message : String(err)}`)
  }
}

void main()
