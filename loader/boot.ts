/**
 * Before anything else: can this browser show a peersite site at all, and is the service worker in control?
 * Each failure becomes a Problem the visitor can read and act on (ui.ts), never a blank page.
 */
import type { Problem } from './ui.js'

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

/** What is missing for peersite here, or undefined when everything needed is present. */
export function missingFeatures (): Problem | undefined {
  const after = 'Open it in a current Chrome, Edge, Firefox or Safari, in a normal (not private) window.'
  if (!window.isSecureContext) {
    return {
      title: 'This site needs a secure connection',
      paragraphs: [
        'This site is shared peer to peer by its visitors\' browsers, which needs a service worker, and browsers allow those only on https:// pages (or on localhost).',
        `Open it with https:// instead of ${location.protocol}//.`
      ]
    }
  }
  if (!('serviceWorker' in navigator)) {
    return {
      title: 'This browser cannot open this site',
      paragraphs: [
        'This site is shared peer to peer by its visitors\' browsers. That needs service workers, which this browser does not offer here (they are off in some private windows and blocked by some settings and extensions).',
        after
      ]
    }
  }
  if (typeof RTCPeerConnection !== 'function') {
    return {
      title: 'This browser cannot open this site',
      paragraphs: [
        'This site is shared peer to peer by its visitors\' browsers over WebRTC, and WebRTC is turned off or missing in this browser (a setting or an extension may disable it).',
        `Turn WebRTC on, or: ${after}`
      ]
    }
  }
  return undefined
}

export class BootProblem extends Error {
  constructor (readonly problem: Problem) {
    super(problem.title)
  }
}

function blocked (detail: string): BootProblem {
  return new BootProblem({
    title: 'Service workers are blocked',
    paragraphs: [
      'This site is shared peer to peer by its visitors\' browsers and is served to this page by a service worker, but this browser would not start it' + (detail === '' ? '.' : `: ${detail}`),
      'Service workers are blocked by some privacy settings, extensions, private windows and "block third-party cookies / site data" options. Allow them for this site, or open it in a current Chrome, Edge, Firefox or Safari, in a normal window.'
    ],
    retry: true
  })
}

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
      reject(new BootProblem({
        title: 'The site\'s service worker did not start',
        paragraphs: ['The service worker that serves this site was registered but did not take control of the page in time. Reloading the page usually fixes this.'],
        retry: true
      }))
    }, CONTROL_TIMEOUT_MS)
    // An active worker that does not claim us within a moment means a hard reload bypassed it: reload once.
    const hardReloadTimer = setTimeout(() => {
      if (container.controller !== null) return done()
      if (registration.active !== null && registration.installing === null && registration.waiting === null &&
          session.get(RELOADED_KEY) === null) {
        session.set(RELOADED_KEY, '1')
        location.reload()
      }
    }, HARD_RELOAD_WAIT_MS)
    if (container.controller !== null) done()
  })
}
