/**
 * One engine for all tabs of a site: the page holding the Web Lock `peersite:<infohash>` is the leader. It runs the
 * engine and hands the worker a port to it (`leader` message); the other pages only show the site, whose bytes
 * the worker gets from the leader. The lock is held for the page's life, so when the leader closes the browser
 * grants it to the next waiting page, which boots its own engine and introduces itself to the worker.
 */
import type { Torrent } from '../engine/torrent.js'
import type { PageMessage, WorkerMessage } from '../worker/protocol.js'
import { EngineHost, type EngineHostInit } from './engine-host.js'

const forever = async (): Promise<never> => await new Promise<never>(() => {})

/**
 * Resolves true if this page leads now (`onLeader` has been called), false if another page does; in that case
 * `onLeader` is called later if the lock comes to this page. Without Web Locks every page leads.
 */
export async function electLeader (infoHash: string, onLeader: () => void): Promise<boolean> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks
  if (locks === undefined) {
    onLeader()
    return true
  }
  const name = `peersite:${infoHash}`
  const now = await new Promise<boolean>((resolve) => {
    locks.request(name, { ifAvailable: true }, async (lock) => {
      if (lock === null) return resolve(false)
      resolve(true)
      onLeader()
      await forever() // held until the page goes away
    }).catch(() => resolve(false))
  })
  if (!now) {
    void locks.request(name, async () => {
      onLeader()
      await forever()
    })
  }
  return now
}

/**
 * Introduces the engine to the worker now, again whenever the worker asks (`need-leader`: it restarted and lost
 * its port) and whenever a new worker takes control. Each introduction gets a fresh port; the old one is closed.
 */
export function serveWorker (infoHash: string, torrent: Promise<Torrent>, init: EngineHostInit & { onIntroduce?: () => void } = {}): void {
  const container = navigator.serviceWorker
  let host: EngineHost | undefined
  const introduce = (): void => {
    const worker = container.controller
    if (worker === null) return
    host?.close()
    const channel = new MessageChannel()
    host = new EngineHost(channel.port1, torrent, init)
    const message: PageMessage = { type: 'leader', infoHash, port: channel.port2 }
    worker.postMessage(message, [channel.port2])
    init.onIntroduce?.()
  }
  container.addEventListener('message', (event: MessageEvent<WorkerMessage>) => {
    if (event.data?.type === 'need-leader') introduce()
  })
  container.addEventListener('controllerchange', introduce)
  // Messages from the worker are queued until this (or setting onmessage) starts their delivery.
  container.startMessages()
  introduce()
  addEventListener('pagehide', (event) => {
    if (!event.persisted) host?.close()
  })
}
