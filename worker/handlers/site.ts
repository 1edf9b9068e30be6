import type { EngineClient } from '../engine-client.js'
import type { PreloadRange } from '../protocol.js'
import { messagePage, siteResponse, type OpenBody, type Site } from '../site.js'
import type { Handler } from './context.js'

/**
 * Hands the engine what `page` needs: at once what its section gives whole (small files: its stylesheet), then what
 * it names by path once those sections have loaded (in parallel).
 */
async function preloadNeeds (engine: EngineClient, site: Site, page: string): Promise<void> {
  const post = (found: { needs: PreloadRange[], likely: PreloadRange[] } | undefined): void => {
    if (found === undefined || (found.needs.length === 0 && found.likely.length === 0)) return
    const transfer = [...found.needs, ...found.likely].map((r) => r.hashes)
    engine.hint(site.infoHash, { type: 'preload', page, needs: found.needs, likely: found.likely }, transfer)
  }
  try {
    post(site.index!.givenNeeds(page))
    post(await site.index!.namedNeeds(page))
  } catch (err) {
    console.debug('peersite: no preload for', page, err)
  }
}

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
      if (offset === 0 && site.index?.hasNeeds(path) === true) void preloadNeeds(state.engine, site, path)
      return await (await state.opener(site))(path, offset, length, signal)
    }
    return await siteResponse(request, url, rel ?? '', site, open)
  }
}
