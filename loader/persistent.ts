/**
 * IndexedDB for a visit's pieces (loader/engine-host.ts openStore and persistStore ask for it): in peersite-later.js
 * with the IndexedDB store's code, which it is the only user of; no first site byte waits for it.
 */
import { IdbStore } from '../engine/storage/idb.js'
import type { PieceStore } from '../engine/storage/index.js'
import { OverflowStore } from '../engine/storage/overflow.js'

/**
 * IndexedDB, opened, and the pieces it holds; pieces it refuses (quota) are kept in memory for the visit. Undefined
 * without IndexedDB (blocked, private mode, Node: the visit keeps its pieces in memory).
 */
export async function openPersistent (metainfo: { readonly infoHash: string, readonly pieceLength: number, readonly length: number }, budget: number): Promise<{ store: PieceStore, stored: number[] } | undefined> {
  let idb: IdbStore | undefined
  try {
    idb = new IdbStore({ pieceLength: metainfo.pieceLength, length: metainfo.length, infoHash: metainfo.infoHash })
    const stored = await idb.storedPieces()
    return { stored, store: new OverflowStore(idb, { maxBytes: budget, onOverflow: (err) => console.warn('peersite: keeping pieces in memory:', err.message) }) }
  } catch (err) {
    console.debug('peersite: no persistent store:', (err as Error).message)
    await idb?.close().catch(() => {})
    return undefined
  }
}
