/// <reference lib="webworker" />
/**
 * The peersite service worker (placeholder): takes control at once and, for now, passes every fetch through
 * to the network. A later issue adds the ordered handler list (worker/handlers/) that serves the site.
 */
export {}
declare const self: ServiceWorkerGlobalScope

self.addEventListener('install', (event) => {
  // A new version replaces the old one without waiting for every tab to close.
  event.waitUntil(self.skipWaiting())
})

self.addEventListener('activate', (event) => {
  // Control the loader page that registered us, so its next requests come through this worker.
  event.waitUntil(self.clients.claim())
})

self.addEventListener('fetch', (event) => {
  // respondWith must be called synchronously in the listener; passing through = not calling it at all.
  void event
})
