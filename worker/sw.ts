/// <reference lib="webworker" />
/**
 * The peersite service worker: listeners only. The fetch listener builds a context and hands the request to the
 * first handler of worker/handlers/ that takes it; the message listener takes engine ports from leader pages.
 */
import { handlers, WorkerState, type Context } from './handlers/index.js'
import { relativePath, messagePage } from './site.js'
import type { PageMessage } from './protocol.js'
import { acceptsLeader } from './leader-check.js'
import { readPins } from './verify.js'
import { gatewayFileHandler, gatewayOf } from './gateway-source.js'
import { Versions } from './version.js'

declare const self: ServiceWorkerGlobalScope
/**
 * Set by scripts/build-browser.mjs: true in gateway/sw.js (the generic loader of `peersite gateway` and `peersite
 * loader`), false in the per-site sw.js, whose bundle then leaves the gateway code out.
 */
declare const PEERSITE_GATEWAY_BUILD: boolean
/** The build variant (scripts/build-browser.mjs): false in sw.js, true in sw-keyed.js (what publish --key ships). */
declare const PEERSITE_KEYED: boolean

// Through a gateway the site is the one the host name names, and only that one (never a path, query or fragment).
const gateway = PEERSITE_GATEWAY_BUILD ? gatewayOf(self.location.hostname, self.registration.scope) : undefined
const pins = readPins(self)
// No build is both a gateway's and keyed (scripts/build-browser.mjs); the others pass the pins alone.
const state = new WorkerState(self.registration.scope, PEERSITE_GATEWAY_BUILD ? { pins, gateway } : PEERSITE_KEYED ? { pins, versions: new Versions(self.registration.scope) } : { pins })
const handled = PEERSITE_GATEWAY_BUILD && gateway !== undefined ? [gatewayFileHandler, ...handlers] : handlers
// A worker the browser restarted reads its manifest back from the cache before the first request needs it.
if (self.registration.active !== null) void state.loadSite().catch(() => {})

self.addEventListener('install', (event) => {
  // A new version replaces the old one without waiting for every tab to close.
  event.waitUntil(state.precache().then(async () => { await self.skipWaiting() }))
})

// Control the loader page that registered us at once, so the shell's iframe is served by this worker (what
// workbox-core's clientsClaim does, without its 120 bytes of version probing).
self.addEventListener('activate', (event) => { event.waitUntil(self.clients.claim()) })

self.addEventListener('message', (event) => {
  const msg = event.data as Partial<PageMessage> | null
  // Only in the keyed build (sw-keyed.js, shipped as sw.js by publish --key; see loader/main.ts KEYED).
  if (PEERSITE_KEYED && msg?.type === 'version') {
    event.waitUntil((async () => {
      const controlled = await self.clients.matchAll({ type: 'window' })
      if (!acceptsLeader(event.source, controlled, state.scope)) return
      const reply = await state.versions!.offer(state, msg.manifest, new Uint8Array(msg.info!))
      for (const client of controlled) client.postMessage(reply)
    })())
    return
  }
  if (PEERSITE_GATEWAY_BUILD && gateway !== undefined && msg?.type === 'site' && typeof msg.manifest === 'string' && msg.torrent instanceof ArrayBuffer) {
    const { manifest, torrent } = msg
    event.waitUntil((async () => {
      if (acceptsLeader(event.source, await self.clients.matchAll({ type: 'window' }), state.scope)) {
        await gateway.provide(manifest, new Uint8Array(torrent)).catch((err: unknown) => console.warn('peersite: refused the site a page provided:', err))
      }
    })())
    return
  }
  if (msg?.type !== 'leader' || typeof msg.infoHash !== 'string') return
  const port = msg.port ?? event.ports[0]
  if (port === undefined) return
  const { infoHash } = msg
  event.waitUntil((async () => {
    // Only a loader shell this worker controls may run the engine (leader-check.ts); its pieces are verified anyway.
    const controlled = await self.clients.matchAll({ type: 'window' })
    if (acceptsLeader(event.source, controlled, state.scope)) await state.onLeader(infoHash, port)
    else port.close()
  })())
})

self.addEventListener('fetch', (event) => {
  const request = event.request
  const url = new URL(request.url)
  const ctx: Context = { event, request, url, rel: relativePath(url, state.scope), state }
  const handler = handled.find((h) => h.canHandle(ctx))
  if (handler?.handle === undefined) return // to the network
  // respondWith is called synchronously; a handler that throws becomes an error page, never a hung request.
  event.respondWith(handler.handle(ctx).catch((err: unknown) => {
    if (request.signal.aborted) throw err
    return messagePage(500, 'Service worker error', err instanceof Error ? err.message : String(err))
  }))
})
