/**
 * Piece length: the unit of hashing, of transfer and of "what one page drags in". A visitor fetching one page
 * downloads and verifies every piece that overlaps the page's bytes, so for websites pieces should be small; but
 * each piece costs 20 bytes in the info dictionary (which every visitor fetches first, BEP 9) and a have/request
 * round of messages, so they must grow with the site.
 *
 * Rule: the smallest power of two that keeps the site within ~1000 pieces, clamped to [16 KiB, 1 MiB].
 *   - 16 KiB floor: one BEP 3 block ("request ... 2^14 (16 kiB)"), the transfer unit; smaller pieces only add overhead.
 *   - ~1000 pieces: the info dictionary stays near 20 kB, i.e. one or two ut_metadata pieces (16 KiB each, BEP 9).
 *   - 1 MiB ceiling: a page never drags in more than 2 MiB of neighbours, whatever the size of the site.
 * Examples: a 200 kB site -> 16 KiB; 50 MB -> 64 KiB; 1 GB and beyond -> 1 MiB.
 */
import { ArgumentError } from '../../engine/errors.js'

export const MIN_PIECE_LENGTH = 16 * 1024
export const MAX_AUTO_PIECE_LENGTH = 1024 * 1024
/** What `--piece-length` accepts at most: beyond this, BitTorrent clients start refusing torrents. */
export const MAX_PIECE_LENGTH = 16 * 1024 * 1024
export const TARGET_PIECES = 1000

export function choosePieceLength (totalBytes: number): number {
  let length = MIN_PIECE_LENGTH
  while (length < MAX_AUTO_PIECE_LENGTH && length * TARGET_PIECES < totalBytes) length *= 2
  return length
}

const UNIT: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 * 1024,
  mb: 1024 * 1024,
  mib: 1024 * 1024
}

/**
 * Parses `--piece-length`: bytes ("65536") or a size with a binary unit ("64KiB", "64k", "1MB", "1 MiB"). Piece
 * lengths are powers of two, so "KB"/"MB" are read as KiB/MiB: nobody means 1,000,000-byte pieces.
 */
export function parsePieceLength (input: string | number): number {
  const text = String(input).trim()
  // A sign is accepted here only to be refused by the range check below with the real reason.
  const match = /^([-+]?\d+)\s*([a-z]*)$/i.exec(text)
  const multiplier = match !== null ? UNIT[match[2]!.toLowerCase()] : undefined
  if (match === null || multiplier === undefined) {
    throw new ArgumentError(`invalid --piece-length "${text}": expected bytes or a size such as 64KiB or 1MiB`)
  }
  const value = Number(match[1]) * multiplier
  if (!Number.isSafeInteger(value) || value < MIN_PIECE_LENGTH || value > MAX_PIECE_LENGTH || (value & (value - 1)) !== 0) {
    throw new ArgumentError(`invalid --piece-length "${text}": must be a power of two from 16KiB to 16MiB`)
  }
  return value
}
