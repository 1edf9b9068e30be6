/**
 * The web-seed side of the loader (BEP 19), bundled apart as peersite-webseed.js and imported only by sites that
 * have web seeds (`publish --with-files` or `--web-seed`): the first visit of every other site does not download it.
 */
import type { Torrent } from '../engine/torrent.js'
import { WebSeeds } from '../engine/webseed.js'
import { WEB_SEED_HEADER } from '../worker/protocol.js'

/**
 * Attaches the web seeds to the leader's torrent. A request to this origin carries WEB_SEED_HEADER, so the worker
 * sends it to the static host (the files beside the loader) instead of answering it from the torrent; requests to
 * other origins carry nothing of ours (no CORS preflight: `Range` alone is a CORS-safelisted header).
 */
export function attachWebSeeds (torrent: Torrent, urls: readonly string[]): void {
  new WebSeeds(torrent, {
    urls,
    headers: (url) => new URL(url).origin === location.origin ? { [WEB_SEED_HEADER]: '1' } : undefined
  })
}
