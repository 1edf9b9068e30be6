/**
 * Pieces by hash between two torrents (issue 11): a keyed site's version N+1 shares the pieces of every file it did
 * not change with version N (files start on piece boundaries, BEP 47 padding), so a Node seeder or mirror that holds
 * N copies them into N+1's store instead of downloading them. Pure PieceStore operations: works for any two stores
 * (the browser's IndexedDB has its own index, idb-hashes.ts). Each copied piece is hashed again on the way, so a file
 * edited on disk since it was verified is fetched from peers instead.
 */
import type { Metainfo } from '../metainfo/index.js'
import { equalBytes, sha1, toHex } from '../util/bytes.js'
import type { PieceStore } from './index.js'

type Layout = Pick<Metainfo, 'pieceHashes' | 'pieceLength' | 'pieceCount' | 'length'>

const HASH = 20

function pieceSize (m: Layout, index: number): number {
  return index < m.pieceCount - 1 ? m.pieceLength : m.length - m.pieceLength * (m.pieceCount - 1)
}

/**
 * Copies into `to.store` every piece of `to.meta` that `from` holds under the same SHA-1 and length. Returns the
 * indexes copied (ascending). A piece `from` cannot read or that no longer hashes right is skipped.
 */
export async function copyPiecesByHash (
  from: { readonly meta: Layout, readonly store: PieceStore, readonly has?: (index: number) => boolean },
  to: { readonly meta: Layout, readonly store: PieceStore },
  signal?: AbortSignal
): Promise<number[]> {
  const where = new Map<string, number>()
  for (let i = 0; i < from.meta.pieceCount; i++) {
    if (from.has?.(i) === false) continue
    where.set(toHex(from.meta.pieceHashes.subarray(i * HASH, (i + 1) * HASH)), i)
  }
  const copied: number[] = []
  for (let i = 0; i < to.meta.pieceCount; i++) {
    signal?.throwIfAborted()
    const want = to.meta.pieceHashes.subarray(i * HASH, (i + 1) * HASH)
    const source = where.get(toHex(want))
    if (source === undefined || pieceSize(from.meta, source) !== pieceSize(to.meta, i)) continue
    let bytes: Uint8Array
    try {
      bytes = await from.store.get(source)
    } catch {
      continue
    }
    if (!equalBytes(await sha1(bytes), want)) continue
    await to.store.put(i, bytes)
    copied.push(i)
  }
  return copied
}
