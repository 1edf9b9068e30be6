import { cacheNameFor, cachingOpen } from '../file-cache.js'
import { messagePage, siteResponse } from '../site.js'
import type { Handler } from './context.js'

/**
 * Everything else in the scope (the iframe's navigations, every subresource) comes from the site, through the
 * leader page's engine: never from the network, which holds only the loader.
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
    const open = cachingOpen(cacheNameFor(state.scope.href, site.infoHash), site.files, async (path, offset, length, signal) =>
      await state.engine.open(site.infoHash, path, offset, length, signal))
    return await siteResponse(request, url, rel ?? '', site, open)
  }
}
