/**
 * Does a folder still hold exactly what a torrent describes? Run by `peersite seed` before serving: a seeder must
 * never offer pieces it does not have. Sizes are checked first (cheap, and they name the culprit precisely), then
 * every piece's SHA-1 (FsStore.checkPieces).
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileSlices, pieceLengthAt, type Metainfo } from '../../engine/metainfo/index.js'
import { FsStore } from '../../engine/storage/fs.js'

export interface FileProblem {
  readonly path: string
  readonly reason: 'missing' | 'wrong size' | 'modified'
}

export async function checkSiteFolder (metainfo: Metainfo, root: string, signal?: AbortSignal): Promise<FileProblem[]> {
  const problems = new Map<string, FileProblem>()
  for (const file of metainfo.files) {
    const path = metainfo.multiFile ? join(root, ...file.path.split('/')) : join(root, file.path)
    try {
      const info = await stat(path)
      if (!info.isFile()) problems.set(file.path, { path: file.path, reason: 'missing' })
      else if (info.size !== file.length) problems.set(file.path, { path: file.path, reason: 'wrong size' })
    } catch {
      problems.set(file.path, { path: file.path, reason: 'missing' })
    }
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
