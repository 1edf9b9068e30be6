/**
 * peersite-later.js: the part of the loader that no first site byte waits for, loaded on demand (loader/lazy.ts)
 * as a bundle of its own. It shares no module with peersite.js (test/e2e/budget.test.ts checks): what it needs from
 * the main bundle (the torrent, the card element) it gets as arguments, so no code is shipped twice and each file
 * compresses on its own. Add here what runs after the first page has painted, or only when something goes wrong.
 */
export { problemFor, showProblem } from './problem.js'
export { BackgroundPrefetch } from './prefetch.js'
/** The shell's history handling (Back, Forward, reloads as on a plain host), handed over after the first page. */
export { manageHistory } from './shell-history.js'
/** A download link's file, saved through the service worker (loader/shell.ts takes the click). */
export { downloadThroughWorker } from './shell-download.js'
/** The window's icon as the site's. */
export { iconMirror } from './shell-icon.js'
/** The torrent's serving side (choker, uploader, BEP 9): Torrent.serve, once the first page has painted. */
export * as serving from '../engine/serving.js'
/** The IndexedDB piece store (with its in-memory overflow): a first visit's pieces move there after the first page. */
export { IdbStore } from '../engine/storage/idb.js'
export { OverflowStore } from '../engine/storage/overflow.js'
export { openPersistent } from './persistent.js'
export { attachStore } from '../engine/storage/late-attach.js'
