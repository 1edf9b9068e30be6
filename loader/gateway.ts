/**
 * The generic loader (bundled into the gateway's peersite.js; `peersite gateway`, `peersite loader`): one loader for
 * every site, each site in its own origin `<id>.<gateway host>` (engine/util/site-id.ts). The id is read from
 * `location.hostname` only: no path, query or fragment can make this origin show another site.
 *
 * A first visit has no peersite.json or site.torrent (the host serves loader files only): the page joins the swarm
 * by infohash, gets the info dictionary from peers (BEP 9, engine/metadata-exchange.ts), builds the manifest from it
 * (types by extension, the torrent's own `_redirects`), hands both to the worker (which checks that the info
 * dictionary hashes to the host name's infohash) and boots like the per-site loader (main.ts), keeping the engine
 * it started. A returning visitor's worker holds both, so the page boots from them at once, offline too.
 *
 * A site key's address opens the key's newest version (gateway-key.ts finds and verifies its signed record), that
 * version's infohash then opened as above in the key's origin, the record going to the worker with the manifest.
 *
 * Without a site id in the host name this page is the gateway's front page (front.ts).
 */
import { BROWSER_MAX_PEERS } from '../engine/constants.js'
import { WebSocketTrackerDiscovery } from '../engine/discovery/websocket-tracker.js'
import type { Metainfo } from '../engine/metainfo/index.js'
import { IdbStore } from '../engine/storage/idb.js'
import type { PieceStore } from '../engine/storage/index.js'
import { MemoryStore } from '../engine/storage/memory.js'
import { OverflowStore } from '../engine/storage/overflow.js'
import { Torrent } from '../engine/torrent.js'
import { siteIdFromHost } from '../engine/util/site-id.js'
import { MANIFEST_FILE, TORRENT_FILE, type PageMessage, type SiteManifest } from '../worker/protocol.js'
import { MAX_REDIRECTS_BYTES, parseRedirects, REDIRECTS_FILE } from '../worker/redirects.js'
import { BootProblem, missingFeatures, registerAndControl } from './boot.js'
import { mark, rtcConfigFor, setRtcConfig, storeBudget } from './engine-host.js'
import { showFrontPage } from './front.js'
import { watchKey } from './gateway-key.js'
import { btpkMagnet, pointerToJson } from '../engine/pointer/record.js'
import type { VerifiedPointer } from '../engine/pointer/index.js'
import { boot } from './main.js'
import { mimeType } from './mime.js'
import { holdBackground } from './prefetch.js'
import { insideShell } from './shell.js'
import { TRACKER_PARAM } from '../engine/util/site-address.js'
import { hideCard, showProblem, showProblemText, status, type Problem } from './ui.js'
import type { PointerError } from '../engine/errors.js'

/** What the gateway writes into its index.html (`<script type="application/json" id="peersite-gateway">`). */
export interface GatewayConfig {
  /** The gateway's trackers (`--tracker`; default the public WebTorrent trackers). */
  readonly trackers: readonly string[]
  /** `--ice-servers`: undefined for the default (public STUN unless every tracker is on this machine). */
  readonly iceServers?: RTCIceServer[]
}

/** No info dictionary from any peer by then: tell the visitor nobody shares the site right now (and keep trying). */
const NOBODY_DEADLINE_MS = 20_000
/**
 * Trackers a pasted magnet brought, remembered for this tab (sessionStorage: a reload before the metadata came finds
 * the same swarm; later visits use the manifest the worker holds). Not localStorage: a link with a fragment could
 * otherwise plant a tracker that learns this visitor's address on every later visit to the site.
 */
const TRACKERS_KEY = 'peersite:trackers'
const MAX_REMEMBERED_TRACKERS = 8

export function readConfig (): GatewayConfig {
  try {
    const json = JSON.parse(document.getElementById('peersite-gateway')?.textContent ?? '{}') as Partial<GatewayConfig>
    const trackers = Array.isArray(json.trackers) ? json.trackers.filter((t): t is string => typeof t === 'string') : []
    return { trackers, ...(Array.isArray(json.iceServers) ? { iceServers: json.iceServers } : {}) }
  } catch {
    return { trackers: [] }
  }
}

export async function gateway (): Promise<void> {
  const config = readConfig()
  const id = siteIdFromHost(location.hostname)
  if (id === undefined) {
    showFrontPage(config)
    return
  }
  if (insideShell()) {
    status('This address is the peersite loader itself, not a page of the site.')
    return
  }
  try {
    if (id.kind === 'key') await openKey(id.publicKey, config)
    else await openSite(id.infoHash, config)
  } catch (err) {
    console.error('peersite:', err)
    if (err instanceof BootProblem) showProblem(err.code, undefined, err.detail)
    else if (err instanceof GatewayProblem) showProblemText(err.problem)
    else showProblemText({ title: 'This site could not start', paragraphs: [`The peersite loader failed: ${err instanceof Error ? err.message : String(err)}.`, 'Reloading the page may help.'], retry: true })
  }
}

/** A problem of the gateway's own, told in words (the per-site loader's problems are codes: loader/problem.ts). */
class GatewayProblem extends Error {
  constructor (readonly problem: Problem) {
    super(problem.title)
  }
}

/** A site key's version: the signed record that names it, carried in its manifest for the worker to check. */
interface KeyedVersion {
  readonly record: VerifiedPointer
}

async function openSite (infoHash: string, config: GatewayConfig, keyed?: KeyedVersion): Promise<void> {
  const root = new URL('/', location.href).href
  const trackers = siteTrackers(config)
  if (config.iceServers !== undefined) setRtcConfig({ iceServers: config.iceServers })
  // A returning visitor: the worker holds the manifest and torrent (checked when they were provided).
  const held = keyed === undefined ? await heldManifest(root) : undefined
  if (held?.infoHash === infoHash) return await boot(root, held)

  const missing = missingFeatures()
  if (missing !== undefined) throw new BootProblem(missing)
  mark('boot')
  const controlled = registerAndControl(root)
  controlled.catch(() => {})
  status('Looking for visitors who share this site…')
  const torrent = joinByInfoHash(infoHash, trackers)
  const deadline = setTimeout(() => {
    showProblemText({
      title: 'Nobody is sharing this site right now',
      paragraphs: [
        `This site (${infoHash}) is served by the browsers of its visitors, and none of them could be reached in ${Math.round(NOBODY_DEADLINE_MS / 1000)} seconds. It comes back as soon as one of its visitors or its publisher is online again.`,
        'This page keeps trying in the background and shows the site if someone appears.'
      ],
      retry: true
    })
  }, deadlineMs())
  const metainfo = await new Promise<Metainfo>((resolve) => {
    if (torrent.metainfo !== undefined) resolve(torrent.metainfo)
    else torrent.once('metadata', resolve)
  })
  clearTimeout(deadline)
  mark('metadata')
  const plain = await manifestOf(torrent, metainfo, trackers)
  const manifest: SiteManifest = keyed === undefined ? plain : { ...plain, address: btpkMagnet(keyed.record.publicKey), pointer: pointerToJson(keyed.record) }
  const torrentBytes = torrentFileOf(metainfo.info)
  await controlled
  const message: PageMessage = { type: 'site', manifest: JSON.stringify(manifest), torrent: torrentBytes.slice().buffer }
  navigator.serviceWorker.controller?.postMessage(message)
  hideCard() // the "nobody is sharing" page, if the metadata came after it
  await boot(root, manifest, { torrentBytes, torrent })
}

/** Waiting for the key's record longer than this: the visitor is told that nobody shares the site now (and it keeps trying). */
const KEY_DEADLINE_MS = NOBODY_DEADLINE_MS

/**
 * A site key's address: the newest version its peers can show a valid signature for, opened like an infohash.
 * A returning visitor whose held version is still the newest (or who hears nobody: offline) opens it at once.
 * Refused records are told on a problem page while no valid one came; a newer version published while the page
 * is open is fetched and handed to the worker, and shows from the next navigation (a reload).
 */
async function openKey (publicKey: string, config: GatewayConfig): Promise<void> {
  const root = new URL('/', location.href).href
  const trackers = siteTrackers(config)
  if (config.iceServers !== undefined) setRtcConfig({ iceServers: config.iceServers })
  const missing = missingFeatures()
  if (missing !== undefined) throw new BootProblem(missing)
  const held = await heldManifest(root)
  status('Looking for the newest version of this site…')
  let opened = false
  const watch = await watchKey(publicKey, trackers, (err) => {
    if (opened || watch?.book.current !== undefined) return
    showProblemText(refusedProblem(err, watch?.book.known?.seq))
  })
  const debug = globalThis as { peersiteKey?: unknown }
  debug.peersiteKey = watch
  const deadline = held !== undefined ? undefined : setTimeout(() => {
    if (watch.refused.length > 0) return // the refusal is on screen
    showProblemText({
      title: 'Nobody is sharing this site right now',
      paragraphs: [
        `No visitor or publisher of the site key ${publicKey} could be reached in ${Math.round(KEY_DEADLINE_MS / 1000)} seconds to tell its newest version.`,
        'This page keeps trying in the background and shows the site if someone appears.'
      ],
      retry: true
    })
  }, deadlineMs())
  // Offline or nobody around: a returning visitor's held version (checked by the worker) opens after the deadline.
  const offline = held !== undefined ? new Promise<undefined>((resolve) => setTimeout(resolve, deadlineMs() / 4, undefined)) : new Promise<undefined>(() => {})
  let record: VerifiedPointer | undefined
  while (record === undefined) {
    record = await Promise.race([watch.settled, offline])
    if (record === undefined) {
      if (held !== undefined) break
      // Peers spoke but no valid record stands (a fork): the problem page says why; wait for a newer record.
      record = await new Promise<VerifiedPointer>((resolve) => { watch.onNewer = resolve })
    }
  }
  clearTimeout(deadline)
  opened = true
  // A version published while the page is open: the next visit (a reload) opens it.
  watch.onNewer = (newer) => { console.info(`peersite: version seq ${newer.seq} of this site was published; a reload opens it`) }
  if (record === undefined || (held !== undefined && held.infoHash === record.infoHash)) {
    hideCard()
    return await boot(root, held!)
  }
  if (held !== undefined) {
    // The worker holds an older version (it holds one, checked once): drop it and its worker, and open the newest
    // as a first visit does. If that cannot be done, the version held opens (never a reload loop).
    status('A newer version of this site was published: opening it…')
    if (await dropHeldVersion(root)) {
      location.reload()
      return
    }
    hideCard()
    return await boot(root, held)
  }
  hideCard()
  await openSite(record.infoHash, config, { record })
}

/** Forgets the version the worker holds (its manifest and torrent in the worker's cache) and the worker itself. */
async function dropHeldVersion (root: string): Promise<boolean> {
  try {
    const cache = await caches.open(`peersite:${root}`)
    await Promise.all([MANIFEST_FILE, TORRENT_FILE].map(async (f) => await cache.delete(new URL(f, root).href)))
    return await (await navigator.serviceWorker.getRegistration(root))?.unregister() === true
  } catch (err) {
    console.warn('peersite: cannot drop the version held:', err)
    return false
  }
}

function refusedProblem (err: Error, knownSeq: number | undefined): Problem {
  const reason = (err as Partial<PointerError>).reason
  if (reason === 'fork') {
    return {
      title: 'This site\'s key signed two different versions',
      paragraphs: [`Two records with the same number name different versions of this site: neither is opened until its publisher publishes a newer one. (${err.message})`],
      retry: true
    }
  }
  if (reason === 'rollback') {
    return {
      title: 'An older version of this site was refused',
      paragraphs: [`A peer offered a version older than the newest this browser has verified (seq ${knownSeq ?? '?'}): it is not opened. (${err.message})`, 'This page keeps waiting for the newest version.'],
      retry: true
    }
  }
  return {
    title: 'A forged record for this site key was refused',
    paragraphs: [`A peer sent a record for this site key that is not validly signed by it: ${err.message}.`, 'Nothing it named is opened. This page keeps waiting for a record signed by the site\'s key.'],
    retry: true
  }
}

function deadlineMs (): number {
  // Tests shorten it with an init script (as main.ts's); nothing else sets this.
  const override = (globalThis as { PEERSITE_DEADLINE_MS?: unknown }).PEERSITE_DEADLINE_MS
  return typeof override === 'number' && override > 0 ? override : NOBODY_DEADLINE_MS
}

/** The gateway's trackers, plus those a pasted magnet brought (`#peersite-tr=…`, then remembered for this origin). */
function siteTrackers (config: GatewayConfig): string[] {
  let remembered: string[] = []
  try { remembered = JSON.parse(sessionStorage.getItem(TRACKERS_KEY) ?? '[]') as string[] } catch {}
  if (location.hash.startsWith(`#${TRACKER_PARAM}=`)) {
    const given = new URLSearchParams(location.hash.slice(1)).getAll(TRACKER_PARAM).filter((t) => /^wss?:\/\/[^\s/]/i.test(t))
    remembered = [...new Set([...given, ...remembered])].slice(0, MAX_REMEMBERED_TRACKERS)
    try { sessionStorage.setItem(TRACKERS_KEY, JSON.stringify(remembered)) } catch {}
    // The fragment was for the loader, not the site: the site's first page sees its own address.
    history.replaceState(history.state, '', location.pathname + location.search)
  }
  return [...new Set([...config.trackers, ...remembered.filter((t) => typeof t === 'string')])]
}

async function heldManifest (root: string): Promise<SiteManifest | undefined> {
  if (navigator.serviceWorker?.controller == null) return undefined
  try {
    const res = await fetch(new URL(MANIFEST_FILE, root), { cache: 'no-cache' })
    return res.ok ? await res.json() as SiteManifest : undefined
  } catch {
    return undefined
  }
}

/** The engine by infohash alone: it joins the swarm now and gets the info dictionary from the first peer that has it. */
function joinByInfoHash (infoHash: string, trackers: readonly string[]): Torrent {
  const budget = storeBudget({})
  const torrent = new Torrent({
    createStore: (metainfo): PieceStore => {
      const layout = { pieceLength: metainfo.pieceLength, length: metainfo.length }
      try {
        return new OverflowStore(new IdbStore({ ...layout, infoHash: metainfo.infoHash }), { maxBytes: budget })
      } catch {
        return new MemoryStore({ ...layout, maxBytes: budget })
      }
    },
    createDiscovery: (init) => new WebSocketTrackerDiscovery({ ...init, announce: [...trackers], rtcConfig: rtcConfigFor(trackers) })
  }, { infoHash, maxPeers: BROWSER_MAX_PEERS })
  // Nothing in the background until the first page has painted (prefetch.ts): held as soon as the pieces are known.
  torrent.once('metadata', () => holdBackground(torrent))
  torrent.on('warning', (err) => console.debug('peersite:', err.message))
  mark('engine')
  torrent.once('peer', () => mark('first-peer'))
  return torrent
}

/** The manifest the per-site loader would read from peersite.json, built from the torrent itself. */
async function manifestOf (torrent: Torrent, metainfo: Metainfo, trackers: readonly string[]): Promise<SiteManifest> {
  return {
    version: 1,
    infoHash: metainfo.infoHash,
    name: metainfo.name,
    trackers: [...trackers],
    pieceLength: metainfo.pieceLength,
    length: metainfo.length,
    redirects: await redirectsOf(torrent, metainfo),
    files: metainfo.files.map((f) => ({ path: f.path, length: f.length, type: mimeType(f.path) }))
  }
}

/**
 * The site's `_redirects` rules, read from the torrent (verified like every piece) and parsed as `publish` parses
 * them; lines it cannot apply are left out (publish warned its author about them). `--spa` is not in the torrent:
 * a single-page app behind a gateway says `/* /index.html 200` in `_redirects` instead.
 */
async function redirectsOf (torrent: Torrent, metainfo: Metainfo): Promise<SiteManifest['redirects']> {
  const file = metainfo.files.find((f) => f.path === REDIRECTS_FILE)
  if (file === undefined || file.length === 0 || file.length > MAX_REDIRECTS_BYTES) return []
  const parts: Uint8Array[] = []
  for await (const chunk of torrent.read(file.offset, file.length)) parts.push(chunk)
  const bytes = new Uint8Array(file.length)
  let at = 0
  for (const part of parts) { bytes.set(part, at); at += part.length }
  try {
    return parseRedirects(new TextDecoder().decode(bytes)).rules
  } catch {
    return []
  }
}

/** A .torrent holding only the info dictionary (`d4:info<info>e`), exactly as hashed: what the worker checks. */
function torrentFileOf (info: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode('d4:info')
  const out = new Uint8Array(head.length + info.length + 1)
  out.set(head)
  out.set(info, head.length)
  out[out.length - 1] = 0x65 // 'e'
  return out
}
