/**
 * Before anything else: can this browser show a peersite site at all, and is the service worker in control?
 * Each failure becomes a Problem the visitor can read and act on (ui.ts), never a blank page.
 */

/** How long a fresh worker may take to install, activate and claim this page. */
const CONTROL_TIMEOUT_MS = 15_000
/** After a hard reload (Shift+Reload) the page is not controlled although a worker is active: one normal reload fixes it. */
const RELOADED_KEY = 'peersite:reloaded-for-control'
/** A worker that is active already claims a page in milliseconds, if it ever does. */
const HARD_RELOAD_WAIT_MS = 250

/** sessionStorage can throw (storage blocked): the hard-reload recovery is then skipped, nothing else. */
const session = {
  get: (key: string): string | null => { try { return sessionStorage.getItem(key) } catch { return '1' } },
  set: (key: string, value: string): void => { try { sessionStorage.setItem(key, value) } catch {} },
  remove: (key: string): void => { try { sessionStorage.removeItem(key) } catch {} }
}

/**
 * Why the loader cannot go on; the visitor reads its explanation (loader/problem.ts problemFor, in
 * peersite-later.js: the words are not on the way to the first byte).
 */
export type ProblemCode =
  | 'insecure' | 'no-service-worker' | 'no-webrtc' | 'blocked' | 'no-control'
  | 'failed' | 'no-torrent' | 'nobody'

/** What is missing for peersite here, or undefined when everything needed is present. */
export function missingFeatures (): ProblemCode | undefined {
  if (!window.isSecureContext) return 'insecure'
  if (!('serviceWorker' in navigator)) return 'no-service-worker'
  if (typeof RTCPeerConnection !== 'function') return 'no-webrtc'
  return undefined
}

export class BootProblem extends Error {
  constructor (readonly code: ProblemCode, readonly detail = '') {
    super(`${code}${detail === '' ? '' : `: ${detail}`}`)
  }
}

const blocked = (detail: string): BootProblem => new BootProblem('blocked', detail)

/** Registers sw.js (scope: the site root) and resolves once it controls this page. */
export async function registerAndControl (root: string): Promise<void> {
  const container = navigator.serviceWorker
  const scriptUrl = new URL('sw.js', root)
  if (container.controller !== null && container.controller.scriptURL === scriptUrl.href) {
    // A returning visitor: the worker answered this very page. register() only checks for an update of sw.js
    // (a network round trip, longer if the browser stopped the worker): let it run without waiting for it.
    session.remove(RELOADED_KEY)
    container.register(scriptUrl, { scope: root }).catch(() => {})
    return
  }
  let registration: ServiceWorkerRegistration | undefined
  try {
    registration = await container.register(scriptUrl, { scope: root }) as ServiceWorkerRegistration | undefined
  } catch (err) {
    throw blocked(err instanceof Error ? err.message : String(err))
  }
  // A registration call that "succeeds" with nothing (what Playwright's `serviceWorkers: 'block'` does) is a block too.
  if (registration === undefined || registration === null || typeof registration.scope !== 'string') throw blocked('')
  if (container.controller !== null) {
    session.remove(RELOADED_KEY)
    return
  }
  // Only a worker that was active before this page asked (a hard reload bypassed it) should claim it at once. A fresh
  // one (a first visit) that has just activated may still be claiming when the timer fires on a loaded machine: the
  // reload then raced its claim, the claim won, the first page showed, and the reload replaced it (e2e tests found a
  // new document without window.peersite right after the frame had shown the site: 3d2c9c7).
  // index.html registers the worker itself on a first visit (peersiteFirst), so by now a fresh worker may be active:
  // what counts is whether one was active when that registration was asked for.
  const early = await (globalThis as { peersiteFirst?: Promise<boolean | undefined> }).peersiteFirst
  const wasActive = typeof early === 'boolean' ? early : registration.active !== null

  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer)
      clearTimeout(hardReloadTimer)
      container.removeEventListener('controllerchange', done)
      session.remove(RELOADED_KEY)
      resolve()
    }
    container.addEventListener('controllerchange', done)
    const timer = setTimeout(() => {
      container.removeEventListener('controllerchange', done)
      reject(new BootProblem('no-control'))
    }, CONTROL_TIMEOUT_MS)
    // An active worker that does not claim us within a moment means a hard reload bypassed it: reload once.
    const hardReloadTimer = setTimeout(() => {
      if (container.controller !== null) return done()
      if (wasActive && registration.active !== null && registration.installing === null && registration.waiting === null &&
          session.get(RELOADED_KEY) === null) {
        session.set(RELOADED_KEY, '1')
        location.reload()
      }
    }, HARD_RELOAD_WAIT_MS)
    if (container.controller !== null) done()
  })
}
