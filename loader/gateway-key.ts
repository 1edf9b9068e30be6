/**
 * A site key's address on the gateway (`<52-char id>.<gateway host>`): the newest version, found in the key's pointer
 * swarm (BEP 46's target, SHA-1(public key), announced on the gateway's WebSocket trackers) over the
 * `peersite_pointer` extension, as a keyed site's loader finds it (follow.ts). Every record is verified with
 * WebCrypto's Ed25519 against the key the host name names; the highest seq per key is remembered in IndexedDB, so an
 * older record replayed later is refused as a rollback (and two records with one seq as a fork). The gateway then
 * opens the record's infohash as it opens an infohash address, in the key's own origin. Gateway build only.
 */
import { BROWSER_MAX_PEERS } from '../engine/constants.js'
import { WebSocketTrackerDiscovery } from '../engine/discovery/websocket-tracker.js'
import type { PointerError } from '../engine/errors.js'
import { PointerBook } from '../engine/pointer/book.js'
import { pointerId, pointerTarget } from '../engine/pointer/record.js'
import { webCryptoVerifier } from '../engine/pointer/webcrypto.js'
import type { VerifiedPointer } from '../engine/pointer/index.js'
import { PointerHub } from '../engine/pointer-exchange.js'
import { MemoryStore } from '../engine/storage/memory.js'
import { Torrent } from '../engine/torrent.js'
import { fromHex, toHex } from '../engine/util/bytes.js'
import type { Peer } from '../engine/wire/peer.js'
import { rtcConfigFor } from './engine-host.js'
import { loadKnown, saveKnown } from './follow.js'

/** Peers in the pointer swarm: it only carries records. */
const POINTER_SWARM_PEERS = 8
/** After the first valid record, how long other peers get to tell of a newer one (as `peersite get` waits). */
export const KEY_SETTLE_MS = 1500

export interface KeyWatch {
  /** The key's book: every record verified against it, the highest seq believed. */
  readonly book: PointerBook
  /** Settles once a peer told a valid record and KEY_SETTLE_MS passed without a newer one. */
  readonly settled: Promise<VerifiedPointer | undefined>
  /** Records refused so far: rollback and fork (PointerError), forged ones (a bad signature, a wrong key). */
  readonly refused: readonly Error[]
  /** A newer record after `settled` (a version published while the page is open). */
  onNewer: ((record: VerifiedPointer) => void) | undefined
  close: () => void
}

/**
 * Joins the pointer swarm of `publicKey` (hex) and starts listening. `onRefused` hears each refused record (a forged
 * one, a rollback, a fork) as it comes, so the page can say so while it keeps waiting for a valid one.
 */
export async function watchKey (publicKeyHex: string, trackers: readonly string[], onRefused: (err: Error) => void): Promise<KeyWatch> {
  const publicKey = fromHex(publicKeyHex)
  const id = pointerId(publicKey)
  const known = await loadKnown(id, publicKey, new Uint8Array(0))
  const book = new PointerBook({ verifier: webCryptoVerifier() }, { publicKey, ...(known !== undefined ? { known } : {}) })
  const refused: Error[] = []
  let settle: ReturnType<typeof setTimeout> | undefined
  let done = false
  let resolveSettled!: (record: VerifiedPointer | undefined) => void
  const settled = new Promise<VerifiedPointer | undefined>((resolve) => { resolveSettled = resolve })
  const heard = (): void => {
    if (done) return
    clearTimeout(settle)
    settle = setTimeout(() => { done = true; resolveSettled(book.current) }, KEY_SETTLE_MS)
  }
  const refuse = (err: Error): void => {
    refused.push(err)
    onRefused(err)
  }
  const watch: KeyWatch = { book, settled, refused, onNewer: undefined, close: () => {} }
  const hub = new PointerHub<Peer>({
    book,
    // A record that is not the key's or not validly signed: the exchange drops the peer; the visitor is told.
    warn: (_peer, err) => { console.debug('peersite: pointer:', err.message); refuse(err) },
    onNewer: (record) => {
      void saveKnown(id, book.known)
      if (done) watch.onNewer?.(record)
    },
    onHeard: heard,
    onRefused: (error: PointerError) => {
      void saveKnown(id, book.known)
      refuse(error)
      // A rollback still leaves the newest known record to open; a fork leaves none: say so once peers have spoken.
      heard()
    }
  })
  // What this browser verified before is believed at once (a rollback is judged against it).
  if (book.current !== undefined) heard()
  const swarm = new Torrent({
    // Never called: no info dictionary hashes to the target (cli/lib/pointer-swarm.ts).
    createStore: () => new MemoryStore({ pieceLength: 1, length: 1 }),
    createDiscovery: (init) => new WebSocketTrackerDiscovery({ ...init, announce: [...trackers], rtcConfig: rtcConfigFor(trackers) })
  }, { infoHash: toHex(await pointerTarget(publicKey)), pointer: hub.exchange(), maxPeers: POINTER_SWARM_PEERS })
  swarm.on('warning', (err) => console.debug('peersite: pointer swarm:', err.message))
  watch.close = () => { clearTimeout(settle); void swarm.destroy() }
  addEventListener('pagehide', (event) => { if (!event.persisted) watch.close() })
  return watch
}
