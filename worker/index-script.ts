/**
 * The entry of peersite-index.js (protocol.ts INDEX_SCRIPT): the worker's code for a site with a sectioned index,
 * kept out of sw.js so that small sites' loader does not carry it (test/e2e/budget.test.ts). The worker gets it by
 * importScripts, the line publish writes into such a site's sw.js. (The page's part, loader/lazy-metainfo.ts, is
 * small and in peersite.js: fetching this script twice would cost more.)
 */
import { INDEX_GLOBAL } from './protocol.js'
import { LazyIndex, lazySite } from './site-index.js'

export const indexCode = { LazyIndex, lazySite }
export type IndexCode = typeof indexCode

;(globalThis as Record<string, unknown>)[INDEX_GLOBAL] = indexCode
