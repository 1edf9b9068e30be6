#!/usr/bin/env node
/**
 * Generates the media of examples/media at test/bench time, so the repository stays small: an H.264 + AAC MP4
 * with the moov atom first (`-movflags +faststart`, so a browser can start playing from the first bytes and seek
 * with Range requests), a short AAC audio file, and a large random download. Needs /usr/bin/ffmpeg
 * (`apt-get install ffmpeg`; `.ci/run` installs it).
 *
 *   node scripts/make-media.mjs                          a ready-to-publish site under bench/.data/ (printed)
 *   node scripts/make-media.mjs --mb 50 --seconds 60 --big-mb 100
 *   node scripts/make-media.mjs --json                   { dir, clip: { path, bytes, seconds, encodeMs, cached }, files }
 *   node scripts/make-media.mjs --site examples/media    write the media into examples/media/media/ (demo;
 *                                                        that folder must stay out of git)
 *   npm run build && node dist/cli/main.js publish "$(node scripts/make-media.mjs)" --local
 *
 * Everything is cached by its parameters: a second call with the same ones costs nothing.
 *
 * Codec: H.264 (constrained baseline, `avc1.42E01E`) + AAC-LC. Debian's Chromium plays it (checked with
 * canPlayType / MediaSource.isTypeSupported and by playing it in test/e2e/video.test.ts); VP9/WebM would be the
 * fallback for a Chromium built without proprietary codecs. Picture: ffmpeg's testsrc2 with temporal noise (so
 * the encoder cannot make the file small and the bitrate, hence the file size, is what was asked for), one
 * keyframe a second (a seek lands at most 1 s before its target), small resolution so encoding is fast.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, existsSync } from 'node:fs'
import { copyFile, mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const FFMPEG = process.env.PEERSITE_FFMPEG ?? '/usr/bin/ffmpeg'
/** Where generated media are cached (gitignored). */
export const CACHE_DIR = join(repoRoot, 'bench', '.data', 'media')
export const EXAMPLE_DIR = join(repoRoot, 'examples', 'media')
/** The codecs string of what makeClip encodes, for canPlayType checks. */
export const CLIP_CODECS = 'video/mp4; codecs="avc1.42E01E, mp4a.40.2"'

function run (cmd, args) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d) => { err += d })
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message} (apt-get install -y ffmpeg, or set PEERSITE_FFMPEG)`)))
    child.on('exit', (code) => code === 0 ? resolvePromise() : reject(new Error(`${cmd} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`)))
  })
}

async function sizeOf (path) {
  try { return (await stat(path)).size } catch { return -1 }
}

/**
 * An H.264/AAC MP4 of about `mb` megabytes (10^6 bytes) lasting `seconds`, `width`x`height` at 30 fps.
 * @returns {Promise<{ path: string, bytes: number, seconds: number, encodeMs: number, cached: boolean }>}
 */
export async function makeClip ({ mb = 25, seconds = 40, width = 320, height = 240, dir = CACHE_DIR } = {}) {
  const name = `clip-${mb}mb-${seconds}s-${width}x${height}.mp4`
  const path = join(dir, name)
  const have = await sizeOf(path)
  if (have > 0) return { path, bytes: have, seconds, encodeMs: 0, cached: true }
  await mkdir(dir, { recursive: true })
  const audioKbps = 64
  // Total bitrate for the wanted size, minus audio and a little container overhead.
  const videoKbps = Math.max(100, Math.round((mb * 8e6 / seconds) / 1000 * 0.995 - audioKbps))
  const tmp = `${path}.part.mp4`
  const started = performance.now()
  await run(FFMPEG, [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${seconds}`,
    '-vf', 'noise=alls=30:allf=t',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p',
    '-b:v', `${videoKbps}k`, '-maxrate', `${videoKbps}k`, '-bufsize', `${videoKbps}k`,
    '-g', '30', '-keyint_min', '30', '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', `${audioKbps}k`,
    '-movflags', '+faststart', '-shortest', tmp
  ])
  const encodeMs = performance.now() - started
  await rename(tmp, path)
  return { path, bytes: await sizeOf(path), seconds, encodeMs, cached: false }
}

/** A short AAC-LC audio file (.m4a, faststart). */
export async function makeAudio ({ seconds = 20, dir = CACHE_DIR } = {}) {
  const path = join(dir, `audio-${seconds}s.m4a`)
  if (await sizeOf(path) > 0) return { path, bytes: await sizeOf(path) }
  await mkdir(dir, { recursive: true })
  const tmp = `${path}.part.m4a`
  await run(FFMPEG, [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `sine=frequency=330:sample_rate=44100:duration=${seconds}`,
    '-c:a', 'aac', '-b:a', '96k', '-movflags', '+faststart', tmp
  ])
  await rename(tmp, path)
  return { path, bytes: await sizeOf(path) }
}

/** `bytes` random (incompressible) bytes at `path`, written in 4 MiB chunks (a 1 GB file never sits in memory). */
export async function makeBlob (path, bytes) {
  if (await sizeOf(path) === bytes) return { path, bytes }
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.part`
  await new Promise((resolvePromise, reject) => {
    const out = createWriteStream(tmp)
    out.on('error', reject)
    let left = bytes
    const write = () => {
      while (left > 0) {
        const n = Math.min(4 * 2 ** 20, left)
        left -= n
        if (!out.write(randomBytes(n))) { out.once('drain', write); return }
      }
      out.end(resolvePromise)
    }
    write()
  })
  await rename(tmp, path)
  return { path, bytes }
}

/** Copies `from` to `to` unless `to` already has the same size. */
async function place (from, to) {
  if (await sizeOf(to) === await sizeOf(from)) return
  await mkdir(dirname(to), { recursive: true })
  await copyFile(from, to)
}

/**
 * A publishable media site: examples/media's own files (index.html, README.md) plus media/clip.mp4,
 * media/audio.m4a and media/big.bin (`bigMB` megabytes of random bytes; 0 leaves it out).
 * `dir` defaults to bench/.data/media-site-<parameters>/.
 * @returns {Promise<{ dir: string, clip: { path: string, bytes: number, seconds: number, encodeMs: number, cached: boolean }, files: Record<string, number> }>}
 */
export async function ensureMediaSite ({ mb = 25, seconds = 40, width = 320, height = 240, bigMB = 1, dir } = {}) {
  const siteDir = dir ?? join(repoRoot, 'bench', '.data', `media-site-${mb}mb-${seconds}s-${width}x${height}-big${bigMB}mb`)
  await mkdir(join(siteDir, 'media'), { recursive: true })
  for (const entry of await readdir(EXAMPLE_DIR, { withFileTypes: true })) {
    if (entry.isFile()) await place(join(EXAMPLE_DIR, entry.name), join(siteDir, entry.name))
  }
  const clip = await makeClip({ mb, seconds, width, height })
  await place(clip.path, join(siteDir, 'media', 'clip.mp4'))
  const audio = await makeAudio()
  await place(audio.path, join(siteDir, 'media', 'audio.m4a'))
  const files = { 'media/clip.mp4': clip.bytes, 'media/audio.m4a': audio.bytes }
  if (bigMB > 0) {
    const bytes = Math.round(bigMB * 1e6)
    await makeBlob(join(siteDir, 'media', 'big.bin'), bytes)
    files['media/big.bin'] = bytes
  }
  return { dir: siteDir, clip, files }
}

/**
 * A site of one page and one large random file, media/big.bin (`bigMB` megabytes), for throughput and memory
 * benchmarks: bench/.data/download-site-<N>mb/.
 */
export async function ensureDownloadSite ({ bigMB = 100, dir } = {}) {
  const siteDir = dir ?? join(repoRoot, 'bench', '.data', `download-site-${bigMB}mb`)
  const bytes = Math.round(bigMB * 1e6)
  await makeBlob(join(siteDir, 'media', 'big.bin'), bytes)
  const page = '<!doctype html>\n<html lang="en">\n<meta charset="utf-8">\n<title>Download</title>\n<h1>Download</h1>\n' +
    `<p><a href="media/big.bin" download>big.bin</a> (${bigMB} MB of random bytes)</p>\n</html>\n`
  const index = join(siteDir, 'index.html')
  if (await sizeOf(index) !== Buffer.byteLength(page)) await writeFile(index, page)
  return { dir: siteDir, files: { 'media/big.bin': bytes } }
}

function parseArgs (argv) {
  const opts = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    const num = () => {
      const n = Number(value())
      if (!Number.isFinite(n) || n < 0) throw new Error(`${a} needs a non-negative number`)
      return n
    }
    if (a === '--mb') opts.mb = num()
    else if (a === '--seconds') opts.seconds = num()
    else if (a === '--width') opts.width = num()
    else if (a === '--height') opts.height = num()
    else if (a === '--big-mb') opts.bigMB = num()
    else if (a === '--site') opts.dir = resolve(value())
    else if (a === '--json') opts.json = true
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node scripts/make-media.mjs [--mb 25] [--seconds 40] [--width 320] [--height 240] [--big-mb 1] [--site DIR] [--json]\n')
      process.exit(0)
    } else throw new Error(`unknown argument ${a}`)
  }
  return opts
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const opts = parseArgs(process.argv.slice(2))
    if (!existsSync(FFMPEG)) throw new Error(`${FFMPEG} is missing: apt-get install -y ffmpeg (or set PEERSITE_FFMPEG)`)
    const site = await ensureMediaSite(opts)
    process.stderr.write(`make-media: ${site.clip.cached ? 'cached' : `encoded in ${(site.clip.encodeMs / 1000).toFixed(1)} s`}: ` +
      Object.entries(site.files).map(([p, n]) => `${p} ${(n / 1e6).toFixed(1)} MB`).join(', ') + '\n')
    process.stdout.write(opts.json === true ? `${JSON.stringify(site)}\n` : `${site.dir}\n`)
  } catch (err) {
    process.stderr.write(`make-media: error: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  }
}

