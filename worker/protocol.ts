/**
 * The one typed protocol between the service worker and the loader pages, imported by both sides.
 *
 * Who talks to whom:
 *   page   -> worker  (postMessage to the registration's active worker): PageMessage
 *   worker -> pages   (client.postMessage): WorkerMessage
 *   worker <-> leader page, over a MessageChannel port the leader hands over: EngineRequest / EngineReply
 *
 * Reads are pull-based: after `read`, the engine sends one `piece` per `pull`, so a slow consumer (a paused
 * video) never makes the page or the worker buffer a whole file; `cancel` (the browser aborted the request,
 * as it does on every seek) drops the read and the priority of its pieces.
 *
 * The worker trusts nothing that comes over the port: any same-origin script can hand it a port. So the engine
 * sends whole pieces, and the worker checks each against the torrent's SHA-1 (worker/verify.ts) before a byte of it
 * is served; a file's first and last piece may hold bytes of its neighbours, which is why the whole piece travels.
 */
import type { PointerRecordJson } from '../engine/pointer/index.js'
import type { RedirectRule } from './redirects.js'
import type { SiteIndexRoot } from './site-index.js'

export type { PointerRecordJson }

/** peersite.json, written by `peersite publish` beside the loader. */
export interface SiteManifest {
  readonly version: 1
  readonly infoHash: string
  readonly name: string
  readonly trackers: readonly string[]
  readonly pieceLength: number
  readonly length: number
  /**
   * Bytes a visitor's browser fetches in the background after the first page (`publish --prefetch-limit`): the whole
   * site if it fits, else the smallest files that fit together (big media stays on demand). 0: only what is visited.
   * Absent in older manifests: the default.
   */
  readonly prefetchLimit?: number
  /** `_redirects` rules, parsed by publish (worker/redirects.ts). Absent: none. */
  readonly redirects?: readonly RedirectRule[]
  /** `publish --spa`: unknown paths get the root index.html with 200 (a single-page app's router takes it from there). */
  readonly spa?: boolean
  readonly files: ReadonlyArray<{ readonly path: string, readonly length: number, readonly type: string }>
  /**
   * What each HTML page needs to paint (scripts and their static module graph, stylesheets and their fonts and
   * @imports, preloads), as indexes into `files`, so the engine asks peers for them as soon as the page is read
   * (cli/lib/subresources.ts). `groups[g]` is a list of file indexes; `pages` is flat pairs [page index, group
   * index] (pages with the same needs share a group: a 10,000-page site stays small). Absent in older manifests.
   * `likely`, the same pairs, is a second tier: files the page's scripts name and may load on demand (a guess,
   * fetched after the first tier, capped by the loader).
   */
  readonly preload?: { readonly groups: ReadonlyArray<readonly number[]>, readonly pages: readonly number[], readonly likely?: readonly number[] }
  /** BEP 19 web seeds (`publish --web-seed`), also in site.torrent's `url-list`. Absent: none. */
  readonly webSeeds?: readonly string[]
  /**
   * `publish --with-files`: the site's files are beside the loader too, under `<name>/` (BEP 19's multi-file layout),
   * so the loader's own folder is a web seed. Absent: not.
   */
  readonly withFiles?: boolean
  /** A keyed site (`publish --key`): its permanent address, `magnet:?xs=urn:btpk:<public key hex>` (BEP 46). */
  readonly address?: string
  /** The signed record of this version (BEP 44 fields as hex, engine/pointer): untrusted, checked like any. */
  readonly pointer?: PointerRecordJson
  /**
   * A site with many files (`publish` writes it from INDEX_MIN_FILES files on, cli/lib/site-index.ts): the file table
   * and piece hashes are in sections beside the loader that the worker fetches as requests need them
   * (worker/site-index.ts), and `files` is empty (no `preload` either: each section carries its own pages' needs). The loader then starts its engine without
   * site.torrent and fetches that only after the first page, for the whole-site prefetch and for other peers.
   */
  readonly index?: SiteIndexRoot
}

/**
 * Marks the leader page's requests to a web seed of its own origin (engine/webseed.ts): the worker lets them through
 * to the static host instead of answering them from the torrent (worker/handlers/not-ours.ts). A header rather than a
 * path: the files sit at paths the site may use too, and a same-origin request needs no CORS for it.
 */
export const WEB_SEED_HEADER = 'x-peersite-web-seed'
/** The web-seed code, a bundle of its own (loader/webseed.ts), loaded only by sites that have web seeds. */
export const WEB_SEED_SCRIPT = 'peersite-webseed.js'

export const MANIFEST_FILE = 'peersite.json'
export const TORRENT_FILE = 'site.torrent'
/**
 * The worker's sectioned-index code (worker/index-script.ts), published beside the loader only for sites with an index
 * (SiteManifest `index`): their sw.js imports it (publish writes the importScripts line). It sets `self[INDEX_GLOBAL]`.
 */
export const INDEX_SCRIPT = 'peersite-index.js'
export const INDEX_GLOBAL = 'PEERSITE_INDEX'

/** What INDEX_SCRIPT set, once loaded (T: worker/index-script.ts IndexCode; generic so this file imports none of it). */
export function loadedIndexCode<T> (): T | undefined {
  return (globalThis as Record<string, unknown>)[INDEX_GLOBAL] as T | undefined
}

/** The loader's own files: served by the static host (the worker lets them through to the network). */
/** The code that follows a keyed site's newest version (loader/follow.ts), loaded after the first paint. */
export const FOLLOW_SCRIPT = 'peersite-follow.js'
/** The loader's second bundle, loaded after the first site byte (loader/later.ts). */
export const LATER_FILE = 'peersite-later.js'
export const LOADER_FILES = ['index.html', '404.html', 'sw.js', 'peersite.js', LATER_FILE, FOLLOW_SCRIPT, WEB_SEED_SCRIPT, MANIFEST_FILE, TORRENT_FILE] as const
/**
 * The loader's names a site file may not take at the root of the output folder: the worker sends them to the
 * network. index.html and 404.html are not among them: under those names the site's own pages are served. (LOADER_FILES
 * without those two, and INDEX_SCRIPT, written out: test/unit/worker/protocol.test.ts.)
 */
export const RESERVED_ROOT_FILES: readonly string[] = ['sw.js', 'peersite.js', LATER_FILE, FOLLOW_SCRIPT, WEB_SEED_SCRIPT, MANIFEST_FILE, TORRENT_FILE, INDEX_SCRIPT]

/**
 * The query parameter that asks the worker to answer a site file as a download (`Content-Disposition: attachment`
 * with this file name). Chromium sends the request of a link with the `download` attribute straight to the network,
 * past the service worker (https://issues.chromium.org/issues/40410035), where the host has only the loader; so
 * the shell catches such clicks and navigates a hidden frame to `FILE?peersite-download=NAME` instead, a request
 * the worker does see (loader/shell.ts).
 */
export const DOWNLOAD_PARAM = 'peersite-download'

export type PageMessage =
  /** "I run the engine for this site: send reads on this port" (the port is transferred). */
  | { readonly type: 'leader', readonly infoHash: string, readonly port: MessagePort }
  /**
   * Through a gateway (no peersite.json or site.torrent on the host): the manifest and the torrent the leader built
   * from the info dictionary peers sent it (BEP 9). The worker keeps them only if the torrent is the host name's.
   */
  | { readonly type: 'site', readonly manifest: string, readonly torrent: ArrayBuffer }
  /**
   * A keyed site's newer version, learnt from peers: its manifest (built by the page, `pointer` being the signed
   * record) and its info dictionary (BEP 9). The worker checks them (worker/version.ts) and serves that version from
   * the next navigation on.
   */
  | { readonly type: 'version', readonly manifest: SiteManifest, readonly info: Uint8Array }

export type WorkerMessage =
  /** The worker (perhaps just restarted) has no engine port: the leader page should send `leader` again. */
  | { readonly type: 'need-leader' }
  /** The worker now serves this version of a keyed site (or refused it: `error`). */
  | { readonly type: 'version', readonly infoHash?: string, readonly seq: number, readonly error?: string }

export type EngineRequest =
  /**
   * The whole pieces `first`..`last` of the torrent, which hold bytes [offset, offset + length) of a site file (its
   * path as in the manifest, e.g. "docs/guide/index.html"). The engine checks that the file exists (else error
   * `not-found`) and that the range and pieces fit it (else `range`). A read moved to a new leader, or asked again
   * after a bad piece, starts at a later `first`.
   */
  | {
    readonly type: 'read', readonly id: number, readonly path: string, readonly offset: number, readonly length: number,
    readonly first: number, readonly last: number,
    /**
     * A site with a sectioned index (SiteManifest `index`): the SHA-1 of the pieces up to `last` (20 bytes each, the
     * last 20 are piece `last`'s), from sections the worker checked. An engine started without the info dictionary
     * verifies the pieces it downloads against them; `path` may then be unknown to it.
     */
    readonly hashes?: ArrayBuffer
  }
  /**
   * A site with a sectioned index: what HTML page `page` (just read) needs, from its section's `preload`
   * (worker/site-index.ts), as byte ranges of the torrent with the SHA-1 of their pieces (from checked sections), so the
   * engine raises them with the page as it does from peersite.json's `preload` for other sites (loader/preload.ts).
   */
  | { readonly type: 'preload', readonly page: string, readonly needs: readonly PreloadRange[], readonly likely: readonly PreloadRange[] }
  /** Send the next piece of read `id`. */
  | { readonly type: 'pull', readonly id: number }
  | { readonly type: 'cancel', readonly id: number }
  /**
   * Piece `index` as the engine sent it failed the worker's SHA-1 check (a stored copy was altered): the engine
   * drops it from its store and fetches it again from peers.
   */
  | { readonly type: 'bad-piece', readonly index: number }

/** A file of the torrent to raise: bytes [offset, offset + length), and the SHA-1 of its pieces (20 bytes each, in order). */
export interface PreloadRange {
  readonly offset: number
  readonly length: number
  readonly hashes: ArrayBuffer
}

/**
 * Why a read failed, so the worker answers with the right status: `not-found` 404, `range` 416, `stall` and
 * `unavailable` 504 (with the reason), `verification` 502.
 */
export type EngineErrorKind = 'not-found' | 'range' | 'stall' | 'unavailable' | 'verification'

export type EngineReply =
  /** The next whole piece of read `id` (index `index`); the buffer is transferred. */
  | { readonly type: 'piece', readonly id: number, readonly index: number, readonly bytes: ArrayBuffer }
  | { readonly type: 'end', readonly id: number }
  | { readonly type: 'error', readonly id: number, readonly kind: EngineErrorKind, readonly message: string }
  /** The leader page is leaving (pagehide): browsers without a MessagePort close event would not notice. */
  | { readonly type: 'gone' }

/**
 * What `peersite publish` builds into sw.js (a first line `self.PEERSITE_PINS = {...}`): for each loader file the
 * worker keeps in Cache Storage, the first PIN_HEX hex digits of its SHA-256 (128 bits: a second preimage stays out
 * of reach, and the loader's weight counts). Any same-origin script can rewrite Cache Storage, but not the worker's
 * script (the browser fetches it from the host), so a cached copy that does not match its pin is dropped and
 * fetched again.
 */
export type LoaderPins = Readonly<Record<string, string>>
export const PIN_HEX = 32
export const PINS_GLOBAL = 'PEERSITE_PINS'
/** The loader files whose cached copies the worker checks against their pins. */
export const PINNED_FILES = ['index.html', 'peersite.js', LATER_FILE, MANIFEST_FILE, TORRENT_FILE] as const

/** The first line `peersite publish` writes into sw.js: the pins, read by worker/verify.ts readPins(self). */
export function pinsScript (pins: LoaderPins): string {
  return `self.${PINS_GLOBAL}=${JSON.stringify(pins)};\n`
}
