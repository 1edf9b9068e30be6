/**
 * Short names for the browser bundles' internal property names (esbuild `mangleProps`), the same in every bundle:
 * peersite.js hands its objects to peersite-later.js, peersite-follow.js, peersite-webseed.js and peersite-index.js,
 * each built on its own, so every build gets one fixed `mangleCache` made here (not esbuild's per-build choice).
 *
 * A name belongs in MANGLED only if it never crosses a boundary where the other side reads it by its written name:
 *   - postMessage between the page and the worker (worker/protocol.ts: the two may come from different releases),
 *     IndexedDB records and `history.state` (they outlive a release), JSON (peersite.json, the sectioned index,
 *     pointer records, tracker messages) and bencoded dictionaries (the wire);
 *   - the exports of a bundle loaded with import() (loader/later.ts and what it re-exports, e.g. engine/serving.ts's
 *     classes: a module namespace's keys are not renamed);
 *   - the debug handle `window.peersite` and what tests and benches read through it (torrent, stats(), follow, ...);
 * test/unit/mangle.test.ts checks the list against these boundaries' types.
 *   - DOM and JavaScript built-ins (lib.*.d.ts), and any name also written as a string ('x' in o, o['x']): esbuild
 *     leaves quoted names alone.
 * Node runs the TypeScript as written, so only the browser bundles see the short names.
 *
 * The short names are chosen here, by frequency, skipping every identifier that appears anywhere in the browser
 * sources and every built-in's name: a short name can then never meet a property that keeps its own name (esbuild
 * checks that within one build only, not against a cache handed from outside). The browser sources are the files
 * esbuild puts in the browser bundles (its metafile's inputs for every bundle of scripts/browser-bundles.mjs), not
 * all of engine/: the engine's Node-only files (the TCP transport, node-wrtc, the file store, ...) never reach a
 * browser, and counting their words moved every bundle's bytes whenever Node-only code changed.
 */
import { build } from 'esbuild'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { BUNDLES, bundleOptions, root } from './browser-bundles.mjs'

export const MANGLED = [
  // engine/picker
  'blockLength', 'blocksPerPiece', 'releaseRequested', 'releaseRequest', 'waitingSince', 'removePeer', 'setWanted',
  'priorityOf', 'fillAll', 'addPriority', 'setUnproven', 'addPeer', 'peerHave', 'outstandingCount', 'blockCount',
  'setSnubbed', 'isPieceComplete', 'isInteresting', 'blockReceived', 'pieceVerified', 'pieceFailed', 'endgameDelayMs',
  'urgentPriority', 'markRequested', 'dataSize', 'markHave', 'setExclusive', 'nextMissing', 'setHeld', 'isStarted', 'mayPick',
  'snubDue', 'picker', 'pieceCount', 'pieceHashes', 'tailPadding', 'multiFile', 'owners', 'timedOut', 'requestedAt',
  'heldSince', 'wanting', 'requested', 'received', 'seedCount', 'pieceOrder', 'addPieces', 'incrementPiece', 'sendBytes',
  // engine/wire
  'maxMessageLength', 'receivedHandshake', 'metadataSize', 'amInterested', 'amChoking', 'peerChoking', 'peerInterested',
  'supportsExtensions', 'sentHandshake', 'writeExtension', 'writeNotInterested', 'writeInterested', 'writeExtendedHandshake',
  'writeHandshake', 'writeRequests', 'writeBitfield', 'writeCancels', 'writeKeepAlive',
  'writeHave', 'remotePeerId', 'lastReceivedAt', 'lastSentAt', 'msgType', 'isValidPayload', 'onHandshake', 'reserved',
  'assembler', 'writeUnchoke', 'writePieces', 'writeChoke', 'notInterested', 'remotePeerIdHex', 'payload', 'snubbed',
  'onExtendedHandshake', 'onPeerClose', 'infoHashBytes',
  // engine/torrent, download, peer list and policy
  'emit', 'removeAllListeners', 'listenerCount', 'fingerprint', 'identity', 'bytesDelivered', 'wantsPeer', 'unchokedAt', 'deferredUntil', 'connectedAt', 'updateInterest', 'evictionCandidate',
  'lastDeliveredAt', 'badPieces', 'maxPeers', 'newPeerWeight', 'peerByKey', 'offerPiece',
  'onBadPiece', 'seedTurnMs', 'stalled', 'remoteAddress', 'addConnection', 'onDownloaded', 'disconnected', 'ownId',
  'onReadable', 'onVerified', 'destroyAll', 'onUploaded', 'setSeeding', 'prioritize', 'delivered', 'rejectAll',
  'onRequest', 'identify', 'badPiece', 'onCancel', 'onChoked', 'onChoke', 'onBlock', 'rechoke', 'sentAt', 'wake',
  'forget', 'admit', 'onBan', 'rush', 'tick', 'badData', 'smartBan', 'servingCode', 'initiator', 'optimisticIntervalMs', 'rechokeIntervalMs',
  'downloadedBytes', 'uploadedBytes', 'uploadedTotal', 'cancelled', 'byKey', 'solo', 'destroy', 'createDiscovery',
  'discovery', 'createStore', 'onMetadata', 'onProgress', 'optimisticSlots', 'seedDeferMs', 'onActivity', 'onRead',
  'timer', 'maxBytes', 'canHandle',
  // engine/discovery/websocket-tracker, transport
  'infoHashBinary', 'peerIdBinary', 'intervalOverride', 'announceMessage', 'offerId', 'makeOffers', 'onAnnounce',
  'trackerId', 'swarmSize', 'WebSocketCtor', 'iceTimeoutMs', 'addPending', 'onAnswer', 'onOffer', 'acked', 'rtcConfig',
  // engine/storage
  'checkSize', 'pieceTable', 'putRun', 'deleteRun', 'getRun', 'onOverflow', 'primary',
  // loader
  'paragraphs', 'loadSite', 'frameReplace', 'restoreUrl', 'onPage', 'refreshShell', 'onIntroduce', 'pageLoaded',
  'onPreload', 'onRanges', 'onLoad', 'pushed', 'mirrorIcons',
  // more internal names (options of the engine's own constructors, the worker's leader handover)
  'handover', 'downloader', 'reads', 'maxRequestsPerBlock', 'unprovenTakeoverMs',
  'connectTimeoutMs', 'leaderTimeoutMs', 'offerTimeoutMs', 'uselessAfterMs', 'snubAfterMs', 'maxBadPieces', 'stallTimeoutMs',
  'expectHandshake', 'announceIntervalMs', 'keepSeeds', 'serveLater', 'frameContext', 'spread', 'setMaxMessageLength', 'pieceSize',
  'onMessage', 'forgetPiece', 'startUploader', 'peerPolicy', 'seedingTurnover', 'noteInterest',
  // worker
  'waiter', 'unlisten', 'staleWhileRevalidate', 'networkFirst', 'precache', 'requestLeader', 'askForLeader', 'setLeader', 'onLeader'
]

const walk = (dir) => readdirSync(dir).flatMap((f) => statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)])

/**
 * The source files of the browser bundles, given esbuild's metafiles of their builds: every input of any of them,
 * once, as paths from the repository root, in a fixed order. Inputs of esbuild's own namespaces (`ns:path`, e.g.
 * `(disabled):fs` for a package's browser field) are no files.
 */
export function bundledSources (metafiles) {
  const files = new Set()
  for (const metafile of metafiles) {
    for (const path of Object.keys(metafile.inputs)) if (!/^[^/]*:/.test(path)) files.add(path)
  }
  return [...files].sort()
}

/** Asks esbuild which files each browser bundle is made of (as scripts/build-browser.mjs builds them, nothing written). */
export async function browserSources () {
  const results = await Promise.all(BUNDLES.map((bundle) => build({
    ...bundleOptions(bundle), minify: true, write: false, metafile: true, logLevel: 'silent'
  })))
  return bundledSources(results.map((r) => r.metafile))
}

/**
 * Every identifier-like word in the browser sources, the HTML pages' inline scripts and the built-ins'
 * declarations: never a short name.
 */
function takenNames (sources) {
  const taken = new Set()
  const files = [...sources.map((f) => join(root, f)), ...['engine', 'loader', 'worker'].flatMap((d) => walk(join(root, d))).filter((f) => f.endsWith('.html'))]
  const lib = join(root, 'node_modules', 'typescript', 'lib')
  files.push(...readdirSync(lib).filter((f) => /^lib\..*\.d\.ts$/.test(f)).map((f) => join(lib, f)))
  for (const file of files) for (const [word] of readFileSync(file, 'utf8').matchAll(/[A-Za-z_$][\w$]*/g)) taken.add(word)
  return taken
}

/** The fixed cache for the browser sources (browserSources()): the most used names get the shortest free names. */
export function mangleCache (sources) {
  const taken = takenNames(sources)
  const source = sources.map((f) => readFileSync(join(root, f), 'utf8')).join('\n')
  const uses = (name) => source.match(new RegExp(`\\b${name.replace('$', '\\$')}\\b`, 'g'))?.length ?? 0
  const names = [...MANGLED].sort((a, b) => uses(b) * (b.length - 1) - uses(a) * (a.length - 1))
  const first = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$'
  const rest = first + '0123456789'
  function * shortNames () {
    for (const c of first) yield c
    for (const c of first) for (const d of rest) yield c + d
    for (const c of first) for (const d of rest) for (const e of rest) yield c + d + e
  }
  const free = shortNames()
  const cache = {}
  for (const name of names) {
    let next = free.next().value
    while (taken.has(next)) next = free.next().value
    cache[name] = next
  }
  return cache
}

/** The esbuild options: rename exactly the listed names, to the same short names in every bundle. */
export async function mangleOptions () {
  if (new Set(MANGLED).size !== MANGLED.length) throw new Error('scripts/mangle.mjs: a name is listed twice')
  return { mangleProps: new RegExp(`^(${MANGLED.join('|').replace(/\$/g, '\\$')})$`), mangleCache: mangleCache(await browserSources()) }
}
