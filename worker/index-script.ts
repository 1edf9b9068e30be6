/**
 * The entry of peersite-index.js (protocol.ts INDEX_SCRIPT): the code only a site with a sectioned index needs, kept
 * out of sw.js and peersite.js so that small sites' loader does not carry it (test/e2e/budget.test.ts). The worker
 * gets it by importScripts (the line publish writes into such a site's sw.js), the loader page by import().
 */
import { installHashes, lazyMetainfo, upgradeMetainfo } from '../loader/lazy-metainfo.js'
import { INDEX_GLOBAL } from './protocol.js'
import { LazyIndex, lazySite } from './site-index.js'

export const indexCode = { LazyIndex, lazySite, lazyMetainfo, installHashes, upgradeMetainfo }
export type IndexCode = typeof indexCode

;(globalThis as Record<string, unknown>)[INDEX_GLOBAL] = indexCode
