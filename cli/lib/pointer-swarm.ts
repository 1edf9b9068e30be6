/**
 * Node glue for site keys: the pointer swarm (BEP 46's target, SHA-1(public key + salt), announced on the trackers
 * like any infohash) where every seeder and visitor of any version of a keyed site meets, and the records passed
 * over the `peersite_pointer` extension there and in the site's own swarm.
 *
 * - `startPointerSeeders`: the publisher's (or `seed`'s) side: one book holding the signed record, announced in
 *   the pointer swarm; the site seeder gets an exchange on the same book (`siteExchange`).
 * - `resolvePointer`: a visitor's side (`get <btpk magnet | public key>`): joins the pointer swarm, waits for a
 *   peer to tell it a valid record, gives other peers a moment to tell it a newer one, and returns the newest.
 *
 * The pointer swarm has no content: nobody can produce an info dictionary whose SHA-1 is the target, so its
 * Torrents never get metadata, never create a store and never download; they only exchange handshakes and records.
 */
import { isWebSocketTracker } from './trackers.js'
import { errorInWords } from './system-errors.js'
import { createNodeTrackerDiscovery } from '../../engine/discovery/node.js'
import { ArgumentError, InterruptedError, PeersiteError, type PointerError, UsageError } from '../../engine/errors.js'
import { nodeVerifier } from '../../engine/pointer/node.js'
import { PointerBook, parsePointerAddress, pointerId, pointerTarget, type PointerKnown, type PointerRecord, type VerifiedPointer } from '../../engine/pointer/index.js'
import { PointerHub, type PointerExchange, type PointerExchangeContext } from '../../engine/pointer-exchange.js'
import { MemoryStore } from '../../engine/storage/memory.js'
import { Torrent } from '../../engine/torrent.js'
import { PUBLIC_RTC_CONFIG } from '../../engine/transport/rtc-config.js'
import { toHex } from '../../engine/util/bytes.js'
import type { Peer } from '../../engine/wire/peer.js'
import type { PointerStateFile } from './pointer-state.js'
import type { SwarmOptions } from './swarm.js'

/** After the first valid record, how long other peers get to tell of a newer one before `get` goes ahead. */
export const POINTER_SETTLE_MS = 1500

export interface SiteAddress {
  readonly publicKey: Uint8Array
  readonly salt: Uint8Array
  /** `tr` parameters of a magnet address. */
  readonly trackers: string[]
}

/** A BEP 46 address (`magnet:?xs=urn:btpk:…`) or a bare 64-hex public key; undefined for anything else. */
export function parseSiteAddress (text: string): SiteAddress | undefined {
  const t = text.trim()
  const isKey = /^[0-9a-fA-F]{64}$/.test(t)
  const isBtpk = /^magnet:\?/i.test(t) && new URLSearchParams(t.slice(t.indexOf('?') + 1)).getAll('xs').some((xs) => /^urn:btpk:/i.test(xs))
  if (!isKey && !isBtpk) return undefined
  let parsed
  try {
    parsed = parsePointerAddress(t)
  } catch (err) {
    throw new ArgumentError((err as Error).message)
  }
  const trackers = isBtpk ? new URLSearchParams(t.slice(t.indexOf('?') + 1)).getAll('tr') : []
  return { ...parsed, trackers }
}

/**
 * A site address's record is found in the pointer swarm, over WebRTC only: with HTTP or UDP trackers alone (given
 * with --tracker) it could never be found, and get, seed and serve would wait for it in vain.
 */
export function checkAddressTrackers (trackers: readonly string[]): void {
  if (!trackers.some(isWebSocketTracker)) {
    throw new ArgumentError('a site address needs a WebSocket tracker (ws:// or wss://), where its record is found: pass one with --tracker or add &tr=<url> to the magnet')
  }
}

interface PointerSwarm {
  readonly hub: PointerHub<Peer>
  readonly torrent: Torrent
}

type HubCallbacks = Omit<PointerExchangeContext<Peer>, 'book' | 'warn'>

/** A hub on `book` whose warnings name the peer. */
export function pointerHub (book: PointerBook, opts: { onWarning?: (message: string) => void } & HubCallbacks): PointerHub<Peer> {
  return new PointerHub<Peer>({
    book,
    warn: (peer, err) => opts.onWarning?.(`peer ${peer.remotePeerIdHex ?? peer.connection.remoteAddress}: ${err.message}`),
    ...(opts.onNewer !== undefined ? { onNewer: opts.onNewer } : {}),
    ...(opts.onHeard !== undefined ? { onHeard: opts.onHeard } : {}),
    ...(opts.onRefused !== undefined ? { onRefused: opts.onRefused } : {})
  })
}

function joinPointerSwarm (opts: SwarmOptions & { target: Uint8Array, hub: PointerHub<Peer> }): PointerSwarm {
  const torrent = new Torrent({
    // Never called: see the file comment. A 1-byte store, should it ever be.
    createStore: () => new MemoryStore({ pieceLength: 1, length: 1 }),
    createDiscovery: (init) => createNodeTrackerDiscovery({
      ...init,
      // The pointer swarm is WebRTC only (peersite's own extension): its WebSocket trackers.
      announce: opts.trackers.filter(isWebSocketTracker),
      rtcConfig: opts.rtcConfig ?? PUBLIC_RTC_CONFIG,
      ...(opts.announceIntervalMs !== undefined ? { announceIntervalMs: opts.announceIntervalMs } : {})
    })
  }, { infoHash: toHex(opts.target), pointer: opts.hub.exchange() })
  torrent.on('warning', (err) => opts.onWarning?.(errorInWords(err)))
  return { hub: opts.hub, torrent }
}

export interface PointerSeeders {
  readonly book: PointerBook
  readonly hub: PointerHub<Peer>
  /** The pointer swarm's infohash (hex). */
  readonly target: string
  /** An exchange on the same book for the site's own swarm (pass it to startSeeder's `pointer`). */
  readonly siteExchange: PointerExchange<Peer>
  close: () => Promise<void>
}

/**
 * Announces `record` (already verified: the publisher signed it, or `seed` checked it) in the pointer swarm. The
 * callbacks hear what the swarm tells (`serve <address>` follows a newer record with `onNewer`).
 */
export async function startPointerSeeders (opts: SwarmOptions & HubCallbacks & { record: PointerRecord }): Promise<PointerSeeders> {
  const target = await pointerTarget(opts.record.publicKey, opts.record.salt)
  const book = new PointerBook({ verifier: nodeVerifier }, { publicKey: opts.record.publicKey, salt: opts.record.salt })
  const hub = pointerHub(book, opts)
  const decision = await hub.publish(opts.record)
  if (decision.kind === 'refused') throw new UsageError(`cannot announce the site's record: ${decision.error.message}`)
  // The pointer swarm and the site's swarm share the book through the hub: whatever one learns (a newer record
  // from another machine with the key), the other passes on.
  const swarm = joinPointerSwarm({ ...opts, target, hub })
  const siteExchange = hub.exchange()
  const close = async (): Promise<void> => { await swarm.torrent.destroy() }
  opts.signal?.addEventListener('abort', () => { void close() }, { once: true })
  return { book, hub, target: toHex(target), siteExchange, close }
}

export interface PointerSettle {
  /** The fork heard, if any (thrown when it leaves no record to believe). */
  readonly fork: PointerError | undefined
  readonly onHeard: () => void
  readonly onRefused: (error: PointerError) => void
  cancel: () => void
}

/**
 * When `get` has heard enough: `settleMs` (POINTER_SETTLE_MS) after the last peer told a valid record that is the
 * newest believed, or a fork (reported through `onWarning`). A peer that only has an older record than the book's
 * own (remembered from an earlier run) is refused as a rollback, and never agrees with anything: its answer starts
 * the wait too, as if the book's record had been heard, so that `get` ends with it instead of waiting forever.
 */
export function pointerSettle (book: PointerBook, opts: { settleMs?: number, onWarning?: (message: string) => void }, settled: () => void): PointerSettle {
  let timer: ReturnType<typeof setTimeout> | undefined
  let fork: PointerError | undefined
  const heard = (): void => {
    clearTimeout(timer)
    timer = setTimeout(settled, opts.settleMs ?? POINTER_SETTLE_MS)
  }
  return {
    get fork () { return fork },
    onHeard: heard,
    onRefused: (error) => {
      if (error.reason === 'fork') {
        fork = error
        opts.onWarning?.(error.message)
        heard()
      } else if (error.reason === 'rollback' && timer === undefined && book.current !== undefined) {
        heard() // only to start the wait: replays do not put off a newer record's
      }
    },
    cancel: () => { clearTimeout(timer) }
  }
}

/**
 * Finds the newest version of the site at `address`: joins the pointer swarm, and returns the newest record that
 * peers can show with a valid signature once one has been heard and POINTER_SETTLE_MS passed without a newer one
 * (or the record remembered in `state`, when peers only show older ones: see pointerSettle).
 * What it learns is remembered in `state` (a later rollback is refused). Throws on a fork (PointerError message)
 * and when `signal` aborts.
 */
export async function resolvePointer (opts: SwarmOptions & {
  publicKey: Uint8Array
  salt?: Uint8Array
  state?: PointerStateFile
  settleMs?: number
}): Promise<VerifiedPointer> {
  const salt = opts.salt ?? new Uint8Array(0)
  const id = pointerId(opts.publicKey, salt)
  const known: PointerKnown | undefined = await opts.state?.load(id)
  const book = new PointerBook({ verifier: nodeVerifier }, { publicKey: opts.publicKey, salt, ...(known !== undefined ? { known } : {}) })
  const target = await pointerTarget(opts.publicKey, salt)
  let settling: PointerSettle | undefined
  let swarm: PointerSwarm | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      const settle = pointerSettle(book, opts, resolve)
      settling = settle
      const hub = pointerHub(book, { ...opts, onHeard: settle.onHeard, onRefused: settle.onRefused })
      swarm = joinPointerSwarm({ ...opts, target, hub })
      const onAbort = (): void => {
        settle.cancel()
        reject(opts.signal?.reason instanceof Error ? opts.signal.reason : new PeersiteError('aborted', 'ABORT_ERR'))
      }
      if (opts.signal?.aborted === true) onAbort()
      opts.signal?.addEventListener('abort', onAbort, { once: true })
    })
  } finally {
    await (swarm as PointerSwarm | undefined)?.torrent.destroy()
    const learnt = book.known
    if (learnt !== undefined && opts.state !== undefined) await opts.state.saveOrWarn(id, learnt)
  }
  const current = book.current
  if (current === undefined) throw (settling as PointerSettle | undefined)?.fork ?? new PeersiteError('no valid record for this site key', 'ERR_POINTER_NONE')
  return current
}

/**
 * resolvePointer for a command that the first Ctrl-C or SIGTERM stops while it waits (`seed` and `serve` of a site
 * address, `signal` from abortOnShutdown): stopped, it says so in one line naming what was still missing.
 */
export async function resolvePointerUntilStopped (opts: Parameters<typeof resolvePointer>[0] & { signal: AbortSignal }): Promise<VerifiedPointer> {
  try {
    return await resolvePointer(opts)
  } catch (err) {
    if (!opts.signal.aborted) throw err
    const reason = opts.signal.reason as Error
    const message = `${reason.message} (no peer showed a record for this site key)`
    if (reason instanceof InterruptedError) throw new InterruptedError(message, reason.signal)
    throw new PeersiteError(message, 'ERR_INTERRUPTED')
  }
}
