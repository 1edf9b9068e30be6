/**
 * Pieces by hash in IndexedDB (issue 11): a keyed site's versions share most of their pieces (files start on piece
 * boundaries, BEP 47 pad files), so a visitor who learns of version N+1 copies the pieces it holds of version N whose
 * SHA-1 N+1 also lists, instead of downloading them again.
 *
 * The `hashes` store of idb.ts's database maps a piece's SHA-1 (hex) to where a verified copy was stored,
 * [infoHash, index]. `indexPieces` records the pieces a torrent holds; `adoptPieces` copies, for each piece of another
 * torrent that is not stored yet, a stored piece with the same hash and length under the new torrent's key, in one
 * transaction. A source piece may be its own record or inside a run (idb.ts), and the copies are written as runs
 * too. Same hash, same bytes (SHA-1 is what the whole swarm trusts a piece by); like every stored
 * piece, an adopted one is checked again by the service worker before it is served (any script of the origin can
 * write IndexedDB).
 *
 * Separate from idb.ts so that the loader's first-paint bundle does not carry it (only loader/follow.ts uses it).
 */
import { toHex } from '../util/bytes.js'
import { HASHES, IDB_NAME, type PieceData, findRecord, openDatabase, pieceInRecord, putRuns, runPieces, transact } from './idb.js'

const HASH_BYTES = 20

export interface HashedTorrent {
  readonly infoHash: string
  readonly pieceLength: number
  readonly length: number
  /** 20 bytes per piece (Metainfo.pieceHashes). */
  readonly pieceHashes: Uint8Array
}

function pieceSize (t: HashedTorrent, index: number): number {
  const count = t.pieceHashes.length / HASH_BYTES
  return index < count - 1 ? t.pieceLength : t.length - t.pieceLength * (count - 1)
}

const hashAt = (t: HashedTorrent, index: number): string => toHex(t.pieceHashes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES))

export interface IdbHashesInit {
  readonly indexedDB?: IDBFactory
  /** Default: globalThis.IDBKeyRange. */
  readonly keyRange?: typeof IDBKeyRange
  readonly name?: string
}

/** Records that pieces `indexes` of `t` are stored (verified) under its infohash. */
export async function indexPieces (t: HashedTorrent, indexes: Iterable<number>, init: IdbHashesInit = {}): Promise<void> {
  const db = await openDatabase(init.indexedDB ?? globalThis.indexedDB, init.name ?? IDB_NAME)
  try {
    await transact(db, [HASHES], 'readwrite', (tx) => {
      const store = tx.objectStore(HASHES)
      for (const index of indexes) store.put([t.infoHash, index], hashAt(t, index))
      return () => undefined
    })
  } finally {
    db.close()
  }
}

/**
 * Copies into `t`'s pieces every piece not in `have` whose hash and length a stored piece of another torrent
 * matches. Returns the indexes now stored. A copy whose source went away (evicted) is skipped.
 */
export async function adoptPieces (t: HashedTorrent, have: ReadonlySet<number>, init: IdbHashesInit = {}): Promise<number[]> {
  const db = await openDatabase(init.indexedDB ?? globalThis.indexedDB, init.name ?? IDB_NAME)
  try {
    const count = t.pieceHashes.length / HASH_BYTES
    const keyRange = init.keyRange ?? globalThis.IDBKeyRange
    const adopted: number[] = []
    await transact(db, ['pieces', HASHES], 'readwrite', (tx) => {
      const pieces = tx.objectStore('pieces')
      const hashes = tx.objectStore(HASHES)
      // Copies found, written a run's worth at a time (requests answer in order, so they come by ascending index).
      let found: Array<{ index: number, data: PieceData }> = []
      let waiting = 0
      const write = (): void => {
        putRuns(pieces, t.infoHash, t.pieceLength, found.sort((a, b) => a.index - b.index))
        found = []
      }
      const settled = (): void => {
        if (--waiting === 0 || found.length >= runPieces(t.pieceLength)) write()
      }
      for (let index = 0; index < count; index++) {
        if (have.has(index)) continue
        const hash = hashAt(t, index)
        waiting++
        const where = hashes.get(hash)
        where.onsuccess = () => {
          const at = where.result as unknown
          if (!Array.isArray(at) || at[0] === t.infoHash || typeof at[0] !== 'string' || typeof at[1] !== 'number') { settled(); return }
          findRecord(pieces, keyRange, at[0], at[1], undefined, (span) => {
            if (span === undefined) { settled(); return }
            const source = pieces.get(span.key)
            source.onsuccess = () => {
              const bytes = pieceInRecord(span, source.result as unknown, at[1] as number, pieceSize(t, index))
              if (bytes !== undefined) {
                found.push({ index, data: span.count > 1 && bytes instanceof Uint8Array ? bytes.slice() : bytes })
                hashes.put([t.infoHash, index], hash)
                adopted.push(index)
              }
              settled()
            }
          })
        }
      }
      return () => adopted.sort((a, b) => a - b)
    })
    return adopted
  } finally {
    db.close()
  }
}
