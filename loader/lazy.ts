/**
 * Loads peersite-later.js (loader/later.ts) once, from beside peersite.js: `await later()` gives its exports.
 * Only its types are imported here, so nothing of it lands in peersite.js.
 */
import type * as Later from './later.js'

let loading: Promise<typeof Later> | undefined

export async function later (): Promise<typeof Later> {
  loading ??= import(new URL('peersite-later.js', import.meta.url).href) as Promise<typeof Later>
  loading.catch(() => { loading = undefined })
  return await loading
}
