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
 */
export type PadPolicy = 'none' | 'all' | 'crossing'

export const PAD_POLICIES: readonly PadPolicy[] = ['none', 'all', 'crossing']

/** The policy publish uses; README "Piece layout" says why (bench/layout.mjs). */
export const DEFAULT_PAD_POLICY: PadPolicy = 'crossing'

export interface Layout {
  /** Where each file starts, in the order given. */
  readonly offsets: readonly number[]
  /** Total bytes, padding included (the last file is never padded after). */
  readonly length: number
  /** Bytes of padding in all. */
  readonly padding: number
}

/** The offsets of files of these lengths, in this order, under `policy`. */
export function planLayout (lengths: readonly number[], pieceLength: number, policy: PadPolicy): Layout {
  const offsets: number[] = []
  let at = 0
  let padding = 0
  for (const length of lengths) {
    const into = at % pieceLength
    const align = length > 0 && into !== 0 && (policy === 'all' || (policy === 'crossing' && into + length > pieceLength))
    if (align) {
      padding += pieceLength - into
      at += pieceLength - into
    }
    offsets.push(at)
    at += length
  }
  return { offsets, length: at, padding }
}
