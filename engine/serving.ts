/**
 * The serving side of a torrent, in one module so that it can load apart from the rest: upload slots
 * (choker.ts), answering `request` messages (upload.ts) and the BEP 9 exchange (metadata-exchange.ts: serving the
 * info dictionary, and fetching it when a torrent starts from an infohash alone). Node and the generic loader build
 * it with the torrent; a site's own loader, which has site.torrent, brings it after the first site byte
 * (loader/later.ts, Torrent.serve), so that none of it is in the first download (test/e2e/budget.test.ts).
 */
export { Choker, newcomerTest } from './choker.js'
export { MetadataExchange } from './metadata-exchange.js'
export { Uploader } from './upload.js'
/** Smart ban (only after a piece failed its hash check with blocks from several peers: DownloaderContext.smartBan). */
export { SmartBan } from './smart-ban.js'
/** Turnover while seeding: a peer with no interest either way for a minute gives its slot to a newcomer. */
export { SeedingTurnover } from './seeding-turnover.js'
/** What Torrent does with them (the choke calls, routing requests, interest and BEP 9 messages): Torrent.serve. */
export { ServingSide } from './serving-side.js'
/** The peers' serving writers (choke, unchoke, pieces, extension messages), for a plain site's loader: Torrent.serve. */
export { installServingWrites } from './wire/serving-writes.js'
