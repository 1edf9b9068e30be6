import { messagePage, siteResponse, type OpenBody } from '../site.js'
import type { Handler } from './context.js'

/** A plain site's build (worker/site.ts): no sectioned index. */
declare const PEERSITE_PLAIN: boolean | undefined

/**
 * Everything else in the scope (the iframe's navigations, every subresource) comes from the site, through the
 * leader page's engine or the piece cache, verified piece by piece (verified-read.ts): never from the network,
 * which holds only the loader.
 */
export const siteHandler: Handler = {
  canHandle: ({ rel }) => rel !== null,
  handle: async ({ request, url, rel, state }) => {
    let site
    try {
      site = await state.loadSite()
    } catch {
      return messagePage(503, 'Site unavailable', 'The site manifest (peersite.json) could not be read. Reload in a moment.')
    }
    // The piece table (site.torrent) is loaded when a body is needed: redirects, 304s and HEAD never wait for it.
    const open: OpenBody = async (path, offset, length, signal) => {
      // A sectioned index: the page's needs (its section's `preload`) go to the engine with the page's read, as
      // peersite.json's table does for other sites. Only for a read from the start (not each range request).
      if (!(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) && offset === 0) site.index?.preload(path, (msg, transfer) => { state.engine.hint?.(site.infoHash, msg, transfer) }).catch(() => {})
      return await (await state.opener(site))(path, offset, length, signal)
    }
    return await siteResponse(request, url, rel ?? '', site, open)
  }
}
