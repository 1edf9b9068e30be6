import { LATER_FILE, MANIFEST_FILE, RESERVED_ROOT_FILES, TORRENT_FILE } from '../protocol.js'
import { isTopLevelNavigation, type Context, type Handler } from './context.js'
import { shellHandler } from './shell.js'
import { siteHandler } from './site.js'

/** Build variants (scripts/build-browser.mjs; undefined in Node's tests): sw.js has no site-key versions or gateway. */
declare const PEERSITE_KEYED: boolean | undefined
declare const PEERSITE_GATEWAY_BUILD: boolean | undefined

/**
 * The loader's own files at the scope root reach the static host. index.html and 404.html are not among them:
 * the loader page is only ever served as the shell, and under those names the site's own files are served.
 * A site file of the same path wins (it is part of the file table); the table may not be loaded yet when the
 * worker has just been restarted, so that case is decided after it is.
 */
const PASS_THROUGH: ReadonlySet<string> = new Set(RESERVED_ROOT_FILES)

const isLoaderPath = (ctx: Context): boolean => ctx.rel !== null && PASS_THROUGH.has(ctx.rel)

/** The loader scripts are served stale-while-revalidate: a returning visitor's shell boots without a network round trip. */
const STALE_WHILE_REVALIDATE: ReadonlySet<string> = new Set(['peersite.js', LATER_FILE])
/** The site's manifest and torrent: fresh from the network, from the cache when offline (the engine boots on stored pieces). */
const NETWORK_FIRST: ReadonlySet<string> = new Set([MANIFEST_FILE, TORRENT_FILE])

export const loaderFileHandler: Handler = {
  canHandle: (ctx) => isLoaderPath(ctx) && ctx.state.site !== undefined && ctx.rel !== null && !ctx.state.site.files.has(ctx.rel),
  handle: async (ctx) => {
    if (ctx.rel === null || ctx.request.method !== 'GET') return await fetch(ctx.request)
    // A keyed site's newer version: its manifest and torrent, not the loader folder's (worker/version.ts).
    const version = (typeof PEERSITE_KEYED !== 'boolean' || PEERSITE_KEYED) ? ctx.state.versions?.file(ctx.rel) : undefined
    if (version !== undefined) return version
    if (NETWORK_FIRST.has(ctx.rel)) return await ctx.state.networkFirst(ctx.request)
    if (!STALE_WHILE_REVALIDATE.has(ctx.rel)) return await fetch(ctx.request)
    return await ctx.state.staleWhileRevalidate(ctx.request)
  }
}

export const loaderFileUndecidedHandler: Handler = {
  canHandle: (ctx) => isLoaderPath(ctx) && ctx.state.site === undefined,
  handle: async (ctx) => {
    // Through a gateway before the leader page provided the site (its problem page loading peersite-later.js while
    // nobody shares it): no file table to wait for, the loader's own file comes from the host.
    if ((typeof PEERSITE_GATEWAY_BUILD !== 'boolean' || PEERSITE_GATEWAY_BUILD) && ctx.state.gateway !== undefined && !await ctx.state.gateway.hasSite()) return await fetch(ctx.request)
    const site = await ctx.state.loadSite().catch(() => undefined)
    if (site === undefined || ctx.rel === null || !site.files.has(ctx.rel)) return await fetch(ctx.request)
    return await (isTopLevelNavigation(ctx.request) ? shellHandler : siteHandler).handle!(ctx)
  }
}
