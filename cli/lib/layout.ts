/**
 * Where each file of a site starts in the torrent's byte space, and so which BEP 47 pad files sit between them.
 *
 * BitTorrent v1 hashes the files as one concatenated stream cut into pieces. Packed end to end (BEP 3), a file that
 * grows or shrinks by one byte shifts every later file against the piece grid, and every later piece hash changes:
 * an update of a site then shares no pieces with the version before it. BEP 47 pad files ("synthetic files inserted
 * into the file list to let the following file start at a piece boundary", zeros in the piece hashes, never sent
 * by peersite peers) pin files to the grid, so an unchanged file keeps its piece hashes across versions.
 *
 * Policies (bench/layout.mjs measures them on a site of real shape):
 *   - 'none':     packed, no padding (BEP 3; what create-torrent makes).
 *   - 'all':      every non-empty file starts on a piece boundary.
 *   - 'crossing': a file starts on a piece boundary when it would otherwise cross one; small files that fit in what
 *                 is left of the current piece are packed into it. Every file then spans the fewest pieces it can
 *                 (a page smaller than a piece is one piece), and after a change the packing falls back in step
 *                 with the old version at the first piece that starts with the same file.
 *   - 'anchored': 'crossing', and small files also start a piece at anchors chosen by their path: a file is an
 *                 anchor with probability length / (ANCHOR_RUN pieces), decided by a hash of its path, so anchors
 *                 fall about every ANCHOR_RUN pieces of small files whatever edits happen around them. Packing then
 *                 never drifts further than the next anchor: an edit or a new page changes the pieces of its own
 *                 run only, where 'crossing' can stay out of step for hundreds of small files.
 */
export type PadPolicy = 'none' | 'all' | 'crossing' | 'anchored'

export const PAD_POLICIES: readonly PadPolicy[] = ['none', 'all', 'crossing', 'anchored']

/** The policy publish uses; README "Piece layout" says why (bench/layout.mjs). */
export const DEFAULT_PAD_POLICY: PadPolicy = 'anchored'

/**
 * 'anchored': pieces of small files between anchors, on average. An anchor costs half a piece of padding on average,
 * so this is the trade: 1/(2 * ANCHOR_RUN) padding on a site of small files against ANCHOR_RUN pieces fetched again
 * around each edit (bench/layout.mjs).
 */
export const ANCHOR_RUN = 4

export interface Layout {
  /** Where each file starts, in the order given. */
  readonly offsets: readonly number[]
  /** Total bytes, padding included (the last file is never padded after). */
  readonly length: number
  /** Bytes of padding in all. */
  readonly padding: number
}

/** The offsets of files of these lengths, in this order, under `policy`. */
export function planLayout (lengths: readonly number[], pieceLength: number, policy: PadPolicy, paths?: readonly string[]): Layout {
  if (policy === 'anchored' && paths?.length !== lengths.length) throw new RangeError('the anchored layout needs every file\'s path')
  const offsets: number[] = []
  let at = 0
  let padding = 0
  for (const [i, length] of lengths.entries()) {
    const into = at % pieceLength
    const crossing = into + length > pieceLength
    const align = length > 0 && into !== 0 && (
      policy === 'all' ||
      ((policy === 'crossing' || policy === 'anchored') && crossing) ||
      (policy === 'anchored' && isAnchor(paths![i]!, length, pieceLength)))
    if (align) {
      padding += pieceLength - into
      at += pieceLength - into
    }
    offsets.push(at)
    at += length
  }
  return { offsets, length: at, padding }
}

/** Whether a file starts a run of its own ('anchored'): P = length / (ANCHOR_RUN * pieceLength), by its path's hash. */
export function isAnchor (path: string, length: number, pieceLength: number): boolean {
  return pathHash(path) / 0x100000000 < length / (ANCHOR_RUN * pieceLength)
}

/** FNV-1a (32 bits) of the path's UTF-16 code units: stable across runs and machines, cheap. */
function pathHash (path: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < path.length; i++) {
    h ^= path.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}
