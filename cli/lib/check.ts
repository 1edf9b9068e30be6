/**
 * Does a folder still hold exactly what a torrent describes? Run by `peersite seed` before serving: a seeder must
 * never offer pieces it does not have. Sizes are checked first (cheap, and they name the culprit precisely), then
 * every piece's SHA-1 (FsStore.checkPieces).
 */
import type { BigIntStats } from 'node:fs'
import { fileSlices, pieceLengthAt, type Metainfo } from '../../engine/metainfo/index.js'
import { FsStore, statFiles } from '../../engine/storage/fs.js'

export interface FileProblem {
  readonly path: string
  readonly reason: 'missing' | 'wrong size' | 'modified'
}

/**
 * `stats`: statFiles of the torrent's paths under `root`, when the caller took them already (`seed` also needs each
 * file's device and inode numbers: one stat of each file serves both).
 */
export async function checkSiteFolder (metainfo: Metainfo, root: string, signal?: AbortSignal, stats?: ReadonlyArray<BigIntStats | undefined>): Promise<FileProblem[]> {
  const problems = new Map<string, FileProblem>()
  const known = stats ?? await statFiles(metainfo.files.map((f) => f.path), root)
  for (const [i, file] of metainfo.files.entries()) {
    const info = known[i]
    if (info === undefined || !info.isFile()) problems.set(file.path, { path: file.path, reason: 'missing' })
    else if (info.size !== BigInt(file.length)) problems.set(file.path, { path: file.path, reason: 'wrong size' })
  }
  // Only read: the files are there, with the names the disk gave them.
  const store = new FsStore({ pieceLength: metainfo.pieceLength, length: metainfo.length, root, files: metainfo.files, names: 'checked' })
  try {
    const have = await store.checkPieces(metainfo, signal)
    for (let index = 0; index < metainfo.pieceCount; index++) {
      if (have.has(index)) continue
      const slices = fileSlices(metainfo, index * metainfo.pieceLength, pieceLengthAt(metainfo, index))
      // A piece that covers a file already known to be missing or resized is explained by it; otherwise every file
      // in the piece is a suspect (the hash cannot say which of them changed).
      if (slices.some((s) => problems.has(s.file.path))) continue
      for (const s of slices) problems.set(s.file.path, { path: s.file.path, reason: 'modified' })
    }
  } finally {
    await store.close()
  }
  return [...problems.values()].sort((a, b) => (a.path < b.path ? -1 : 1))
}
