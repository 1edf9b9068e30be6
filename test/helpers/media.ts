/**
 * The example video for tests: scripts/make-media.mjs generates examples/media's site (an H.264 + AAC MP4 with
 * the moov atom first, an AAC file, a random blob) with ffmpeg, cached under bench/.data/ between runs, so the
 * browser test (test/e2e/video.test.ts) and the player test (test/integration/serve-mpv.test.ts) share one encode.
 */
import { execFile } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export interface MediaSite {
  /** The site folder: index.html, README.md, media/clip.mp4, media/audio.m4a, media/big.bin. */
  dir: string
  clip: { path: string, bytes: number, seconds: number, encodeMs: number, cached: boolean }
  files: Record<string, number>
}

/** The media site with a clip of about `mb` MB lasting `seconds` (defaults: what the browser test plays). */
export async function makeMediaSite ({ mb = 25, seconds = 40, bigMB = 1 } = {}): Promise<MediaSite> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    join(repoRoot, 'scripts', 'make-media.mjs'), '--mb', String(mb), '--seconds', String(seconds), '--big-mb', String(bigMB), '--json'
  ], { maxBuffer: 1 << 20 })
  return JSON.parse(stdout) as MediaSite
}
