/**
 * registerAndControl (loader/boot.ts) with a scripted service worker container: a first visit waits for the fresh
 * worker's claim however late it comes, and only a page that a worker active beforehand does not claim (a hard reload
 * bypassed it) reloads, once. Fake timers: the claim is made to come after the hard-reload check, as on a loaded
 * machine.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { registerAndControl } from '../../../loader/boot.js'

interface FakeRegistration { scope: string, active: object | null, installing: object | null, waiting: object | null }

/** A container whose register() resolves with `registration`; claim() sets the controller and fires controllerchange. */
function fakeContainer (registration: FakeRegistration): { container: object, claim: () => void } {
  const listeners = new Set<() => void>()
  const container = {
    controller: null as object | null,
    register: async () => registration,
    addEventListener: (_: string, fn: () => void) => { listeners.add(fn) },
    removeEventListener: (_: string, fn: () => void) => { listeners.delete(fn) }
  }
  const claim = (): void => {
    container.controller = { scriptURL: 'http://127.0.0.1/sw.js' }
    for (const fn of [...listeners]) fn()
  }
  return { container, claim }
}

/** navigator.serviceWorker with a worker already active that does not control the page until claim(). */
function stubActiveWorker (): { claim: () => void } {
  const { container, claim } = fakeContainer({ scope: 'http://127.0.0.1/', active: {}, installing: null, waiting: null })
  vi.stubGlobal('navigator', { serviceWorker: container })
  return { claim }
}

describe('registerAndControl', () => {
  let reload: ReturnType<typeof vi.fn>
  const storage = new Map<string, string>()

  beforeEach(() => {
    vi.useFakeTimers()
    reload = vi.fn()
    storage.clear()
    vi.stubGlobal('location', { reload })
    vi.stubGlobal('sessionStorage', {
      getItem: (k: string) => storage.get(k) ?? null,
      setItem: (k: string, v: string) => { storage.set(k, v) },
      removeItem: (k: string) => { storage.delete(k) }
    })
  })

  afterEach(() => {
    vi.useRealTimers()
    vi.unstubAllGlobals()
  })

  it('a first visit: a fresh worker that activates and claims only after the hard-reload check is waited for, no reload', async () => {
    const registration: FakeRegistration = { scope: 'http://127.0.0.1/', active: null, installing: {}, waiting: null }
    const { container, claim } = fakeContainer(registration)
    vi.stubGlobal('navigator', { serviceWorker: container })
    let settled = false
    const controlled = registerAndControl('http://127.0.0.1/').then(() => { settled = true })
    // Installed and activated at 100 ms; its claim arrives at 2 s (a loaded machine).
    await vi.advanceTimersByTimeAsync(100)
    registration.installing = null
    registration.active = {}
    await vi.advanceTimersByTimeAsync(1900)
    expect(reload).not.toHaveBeenCalled()
    expect(settled).toBe(false)
    claim()
    await controlled
    expect(reload).not.toHaveBeenCalled()
  })

  it('a worker active before the page asked that does not claim it (a hard reload) reloads the page, once per session', async () => {
    stubActiveWorker()
    const first = registerAndControl('http://127.0.0.1/').catch(() => {})
    await vi.advanceTimersByTimeAsync(1000)
    expect(reload).toHaveBeenCalledTimes(1)
    // The reloaded page, still not claimed: no second reload (it ends on the no-control problem instead).
    const second = registerAndControl('http://127.0.0.1/').catch((err: Error) => err.message)
    await vi.advanceTimersByTimeAsync(20_000)
    expect(reload).toHaveBeenCalledTimes(1)
    expect(await second).toBe('no-control')
    await first
  })

  it('a first visit whose worker index.html registered early, active but not yet claiming when boot runs: no reload', async () => {
    // index.html asked while no worker was active (peersiteFirst: false); the fresh worker has activated since.
    vi.stubGlobal('peersiteFirst', Promise.resolve(false))
    const { claim } = stubActiveWorker()
    const controlled = registerAndControl('http://127.0.0.1/')
    await vi.advanceTimersByTimeAsync(2000)
    expect(reload).not.toHaveBeenCalled()
    claim()
    await controlled
    expect(reload).not.toHaveBeenCalled()
  })

  it('a hard reload that index.html registered early (a worker was active when it asked) still reloads once', async () => {
    vi.stubGlobal('peersiteFirst', Promise.resolve(true))
    stubActiveWorker()
    const first = registerAndControl('http://127.0.0.1/').catch(() => {})
    await vi.advanceTimersByTimeAsync(1000)
    expect(reload).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(20_000)
    await first
  })
})
