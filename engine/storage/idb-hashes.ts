/**
 * Pieces by hash in IndexedDB (issue 11): a keyed site's versions share most of their pieces (files start on piece
 * boundaries, BEP 47 pad files), so a visitor who learns of version N+1 copies the pieces it holds of version N whose
 * SHA-1 N+1 also lists, instead of downloading them again.
 *
 * The `hashes` store of idb.ts's database maps a piece's SHA-1 (hex) to where a verified copy was stored,
 * [infoHash, index]. `indexPieces` records the pieces a torrent holds; `adoptPieces` copies, for each piece of another
 * torrent that is not stored yet, a stored piece with the same hash and length under the new torrent's key, a run's
 * worth at a time (bytes read from the source, never a slice of its Blob: see adoptPieces). A source piece may be its
 * own record or inside a run (idb.ts), and the copies are written as runs too. Same hash, same bytes (SHA-1 is what the whole swarm trusts a piece by); like every stored
 * piece, an adopted one is checked again by the service worker before it is served (any script of the origin can
 * write IndexedDB).
 *
 * Separate from idb.ts so that the loader's first-paint bundle does not carry it (only loader/follow.ts uses it).
 */
import { toHex } from '../util/bytes.js'
import { HASHES, IDB_NAME, type PieceData, findRecord, openDatabase, pieceInRecord, putRuns, readPiece, runPieces, transact } from './idb.js'

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
 * matches. Returns the indexes now stored. A copy whose source went away (evicted) or cannot be read is skipped.
 *
 * The copies are bytes read from the sources, never slices of a stored Blob (WebKit stores a Blob made of slices of
 * a Blob read from IndexedDB wrongly: idb.ts, delete). A transaction commits at the first await that is not one of
 * its requests, so the pieces go a run's worth at a time (RUN_BYTES at most held at once) in three steps: a
 * transaction finds the sources, their Blobs are read, and a second transaction writes the copies and their hashes.
 * A step that fails ends the copying; what was written before stays adopted.
 */
export async function adoptPieces (t: HashedTorrent, have: ReadonlySet<number>, init: IdbHashesInit = {}): Promise<number[]> {
  const db = await openDatabase(init.indexedDB ?? globalThis.indexedDB, init.name ?? IDB_NAME)
  try {
    const count = t.pieceHashes.length / HASH_BYTES
    const keyRange = init.keyRange ?? globalThis.IDBKeyRange
    const missing = [...Array(count).keys()].filter((index) => !have.has(index))
    const step = runPieces(t.pieceLength)
    const adopted: number[] = []
    for (let from = 0; from < missing.length; from += step) {
      const indexes = missing.slice(from, from + step)
      let copies: Array<{ index: number, hash: string, data: Uint8Array }>
      try {
        const sources = await transact(db, ['pieces', HASHES], 'readonly', (tx) => {
          const pieces = tx.objectStore('pieces')
          const hashes = tx.objectStore(HASHES)
          const found: Array<{ index: number, hash: string, data: PieceData }> = []
          for (const index of indexes) {
            const hash = hashAt(t, index)
            const where = hashes.get(hash)
            where.onsuccess = () => {
              const at = where.result as unknown
              if (!Array.isArray(at) || at[0] === t.infoHash || typeof at[0] !== 'string' || typeof at[1] !== 'number') return
              findRecord(pieces, keyRange, at[0], at[1], undefined, (span) => {
                if (span === undefined) return
                const source = pieces.get(span.key)
                source.onsuccess = () => {
                  const data = pieceInRecord(span, source.result as unknown, at[1] as number, pieceSize(t, index))
                  // A piece of a run of bytes is a view into the whole run: copied, so that the run is not held.
                  if (data !== undefined) found.push({ index, hash, data: span.count > 1 && data instanceof Uint8Array ? data.slice() : data })
                }
              })
            }
          }
          return () => found
        })
        copies = []
        for (const { index, hash, data } of sources) {
          const bytes = await readPiece(data, 0, pieceSize(t, index)).catch(() => undefined)
          if (bytes !== undefined) copies.push({ index, hash, data: bytes })
        }
        if (copies.length === 0) continue
        copies.sort((a, b) => a.index - b.index)
        await transact(db, ['pieces', HASHES], 'readwrite', (tx) => {
          putRuns(tx.objectStore('pieces'), t.infoHash, t.pieceLength, copies)
          const hashes = tx.objectStore(HASHES)
          for (const { index, hash } of copies) hashes.put([t.infoHash, index], hash)
          return () => undefined
        })
      } catch {
        break
      }
      for (const { index } of copies) adopted.push(index)
    }
    return adopted.sort((a, b) => a - b)
  } finally {
    db.close()
  }
}
