/**
 * A return visit's wait for a quiet page (loader/index.html): the worker controls the page, so the shell has shown the
 * site's frame at once, and lets the frame load before the engine's script competes for the main thread (what the
 * visitor waits for; the engine is only needed for files the worker has no copy of). Sites keep loading after their
 * load event (scripts fetch modules, extensions and fonts on demand, each answered by the worker from its copies):
 * this resolves once the frame has loaded and fetched nothing new for 600 ms, and the main thread, which the frame
 * shares with the shell, is idle. index.html races it against its own 3 s cap and the worker's need-leader message
 * (a file it has no copy of), so neither a slow copy of this file nor a busy site holds the engine back longer.
 *
 * In peersite-later.js: a first visit never runs it, and a return visit loads that file for its engine anyway (the
 * IndexedDB store). index.html imports it beside the controlling worker's script, the URL peersite.js asks for too.
 */
export async function quiet (frame: HTMLIFrameElement): Promise<void> {
  await new Promise((resolve) => {
    let last = -1
    let still = 0
    const tick = (): void => {
      let entries = NaN
      try {
        const doc = frame.contentDocument!
        // The site's document has loaded (the frame's initial about:blank does not count): its title meanwhile (the
        // shell mirrors it once peersite.js runs), and how many files it has fetched.
        if (doc.readyState === 'complete' && doc.URL !== 'about:blank') {
          document.title = doc.title
          entries = frame.contentWindow!.performance.getEntries().length
        }
      } catch {}
      // Two quiet ticks in a row: an entry appears only once its response has ended, so a tick that comes right
      // after a long task of the site (which may have just asked for files) cannot count as quiet alone.
      still = entries === last ? still + 1 : 0
      last = entries
      if (still > 1) 'requestIdleCallback' in window ? requestIdleCallback(resolve, { timeout: 500 }) : resolve(0)
      else setTimeout(tick, 300)
    }
    tick()
  })
}
