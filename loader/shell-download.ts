/**
 * A download link's file, saved through the service worker (loader/shell.ts routes the clicks here; in
 * peersite-later.js, since a download is never what the first page waits for).
 *
 * Chromium sends the request of a link with the `download` attribute straight to the network, past the service
 * worker (https://issues.chromium.org/issues/40410035), and the host has only the loader. So such a click in the
 * site becomes a navigation of a hidden frame, which the worker does answer, with DOWNLOAD_PARAM (worker/protocol.ts) asking for
 * `Content-Disposition: attachment`: the browser's download manager then saves the stream as it arrives.
 */
const DOWNLOAD_FRAME_ID = 'peersite-download'

/** Saves the file at `url`: a URL of the site with DOWNLOAD_PARAM set (loader/shell.ts). */
export function downloadThroughWorker (url: URL): void {
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
