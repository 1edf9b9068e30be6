import { ReadAhead, pageNeeds } from '../read-ahead.js'
import { messagePage, siteResponse, type OpenBody } from '../site.js'
import type { Handler } from './context.js'

/** The reads of the last pages' needs, opened as each page was served (read-ahead.ts). */
const ahead = new ReadAhead()

/**
 * Everything else in the scope (the iframe's navigations, every subresource) comes from the site, through the
 * leader page's engine or the piece cache, verified piece by piece (verified-read.ts): never from the network,
 * which holds only the loader.
 */
export const siteHandler: Handler = {
  name: 'site',
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
      if (offset === 0) site.index?.preload(path, (msg, transfer) => { state.engine.hint(site.infoHash, msg, transfer) }).catch(() => {})
      const read = await state.opener(site)
      if (offset !== 0) return await read(path, offset, length, signal)
      // A read opened as the page that needs this file was served (one that failed left nothing: a read of its own).
      const body = await ahead.take(path, length, signal) ?? await read(path, 0, length, signal)
      // A page with needs: their reads open once its first bytes are in (opened with it, their first pieces came
      // before the page's own), not when the frame asks for each.
      ahead.start(pageNeeds(site, path), read)
      return body
    }
    return await siteResponse(request, url, rel ?? '', site, open)
  }
}
