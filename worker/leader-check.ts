/**
 * Which page may hand the worker an engine port. Any script of the origin can post a `leader` message to this
 * worker (navigator.serviceWorker.getRegistration('/b/') from site A, or window.parent from a site page in the shell's
 * iframe), so the sender must be a loader shell of this site: a top-level window (a site page lives in the shell's
 * iframe) that this very worker controls (another site's shell on the same origin is controlled by that site's
 * worker, whatever its URL became through history.pushState), at a URL inside this worker's scope.
 *
 * This narrows who can talk to the worker; it cannot make same-origin pages safe from each other (a page of site A
 * can open a window on site B and script it). What keeps B's visitors safe is that the worker verifies every piece
 * it serves (verified-read.ts).
 */
export interface ClientLike { readonly id: string, readonly url: string, readonly frameType?: string }

export function acceptsLeader (source: unknown, controlled: readonly ClientLike[], scope: URL): boolean {
  // Anything but a top-level window client (a port, a worker, null) has no frameType 'top-level'; a forged object
  // with one still has to be, by id, one of the windows this worker controls.
  const client = source as Partial<ClientLike> | null | undefined
  if (client?.frameType !== 'top-level') return false
  const ours = controlled.find((c) => c.id === client.id)
  return ours !== undefined && ours.frameType === 'top-level' && ours.url.startsWith(scope.href)
}
