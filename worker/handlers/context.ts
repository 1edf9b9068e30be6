/**
 * What every fetch handler sees. A handler answers when `canHandle` says so (decided synchronously, because
 * `respondWith` must be called in the fetch listener itself); a handler without `handle` lets the request
 * through to the network (the listener does not call `respondWith` at all).
 */
import type { WorkerState } from './state.js'

export interface Context {
  readonly event: FetchEvent
  readonly request: Request
  readonly url: URL
  /** the path below the worker's scope, still percent-encoded ("" is the scope root); null outside the scope */
  readonly rel: string | null
  readonly state: WorkerState
}

export interface Handler {
  canHandle (ctx: Context): boolean
  handle?: (ctx: Context) => Promise<Response>
}

/** A top-level document navigation: the visitor typed a URL, followed a link with target=_top, reloaded. */
export function isTopLevelNavigation (request: Request): boolean {
  return request.mode === 'navigate' && request.destination === 'document'
}
