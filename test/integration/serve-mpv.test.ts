/**
 * A real media player through `peersite serve`: mpv plays examples/media's clip (H.264 + AAC MP4, made by
 * scripts/make-media.mjs) from the gateway's URL while the gateway fetches it over WebRTC from a Node seeder:
 * from the start, from the middle (`--start`), and with a seek during playback. mpv reads HTTP and MP4 with
 * libavformat, as ffmpeg and VLC's avformat path do; its Range requests are the ones a player really makes
 * ("bytes=0-", then "bytes=N-" at the seek target, dropping the old connection).
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/integration/serve-mpv.test.ts
 *
 * Needs /usr/bin/mpv (`apt-get install -y --no-install-recommends mpv`; .ci/run installs it) and ffmpeg.
 *
 * The seeder uploads at SEED_RATE (a little above the clip's 5 Mbit/s), so each player run ends long before
 * the gateway holds the whole clip: every run starts a fresh `peersite serve` (an empty piece folder), and the
 * test checks that the seeder had sent less than the clip when mpv was done. Timings are not asserted.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Metainfo } from '../../engine/metainfo/index.js'
import type { Torrent } from '../../engine/torrent.js'
import { makeTorrent } from '../fixtures/make-torrent.js'
import { makeMediaSite, type MediaSite } from '../helpers/media.js'
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js'
import { startSlowSeeder } from '../helpers/slow-seeder.js'
import { startTrackerServer, trackerUrlFor, type TrackerServer } from '../helpers/tracker.js'
import { assertInNetns } from '../helpers/webrtc.js'
import { removeBundle } from '../unit/cli/helpers.js'

const MPV = process.env.PEERSITE_MPV ?? '/usr/bin/mpv'
const REPORT_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'mpv-report.lua')
const CLIP = 'media/clip.mp4'
/** Bytes per second; the clip needs about 0.63 MB/s. */
const SEED_RATE = 1e6

type Report =
  | { event: 'file-loaded', duration?: number }
  | { event: 'playback-restart', timePos?: number }
  | { event: 'seek', from: number, to: number }
  | { event: 'end-file', reason: string, error?: string, lastTimePos?: number }

interface MpvRun { code: number | null, reports: Report[], output: string }

/** Runs mpv headless (no video or audio output, no config, no youtube-dl) on `url` with the report script. */
async function mpv (url: string, args: string[]): Promise<MpvRun> {
  const child = spawn(MPV, [
    '--no-config', '--ytdl=no', '--vo=null', '--ao=null', '--msg-level=all=warn,mpv_report=info',
    `--script=${REPORT_SCRIPT}`, ...args, url
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { output += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { output += d })
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (c) => resolve(c))
  }).finally(() => clearTimeout(timer))
  const reports = [...output.matchAll(/peersite-report (\{.*\})/g)].map((m) => JSON.parse(m[1]!) as Report)
  return { code, reports, output }
}

const restarts = (run: MpvRun): number[] => run.reports.flatMap((r) => r.event === 'playback-restart' ? [r.timePos ?? NaN] : [])
const endOf = (run: MpvRun): Extract<Report, { event: 'end-file' }> | undefined =>
  run.reports.find((r): r is Extract<Report, { event: 'end-file' }> => r.event === 'end-file')

/** One line of `serve --log-requests` (cli/lib/gateway.ts formatRequestLog). */
interface Logged { line: string, method: string, path: string, range: string | null, status: number, start: number | null, closedEarly: boolean }

function requestLog (stderr: string): Logged[] {
  const out: Logged[] = []
  const line = /^(GET|HEAD) (\S+)(?: Range: (\S+))? -> (\d{3})(?: bytes (\d+)-\d+\/\d+)? after .*?( \(closed early\))?$/gm
  for (const m of stderr.matchAll(line)) {
    out.push({ line: m[0], method: m[1]!, path: m[2]!, range: m[3] ?? null, status: Number(m[4]), start: m[5] !== undefined ? Number(m[5]) : null, closedEarly: m[6] !== undefined })
  }
  return out
}

describe('mpv plays a video through peersite serve, and seeks before the download is complete', () => {
  let media: MediaSite
  let metainfo: Metainfo
  let size: number
  let tracker: TrackerServer
  let seeder: Torrent
  let serve: ServeProcess | undefined
  const log = (s: string): void => { process.stderr.write(`serve-mpv.test: ${s}\n`) }

  beforeAll(async () => {
    assertInNetns()
    if (!existsSync(MPV)) {
      throw new Error(`${MPV} is missing: apt-get install -y --no-install-recommends mpv (.ci/run installs it), or set PEERSITE_MPV`)
    }
    media = await makeMediaSite()
    // A torrent of the clip alone, seeded from the media site's folder (media/clip.mp4 under it).
    const data = new Uint8Array(await readFile(join(media.dir, CLIP)))
    ;({ metainfo } = await makeTorrent([{ path: CLIP, data }], 32 * 1024, 'media'))
    size = data.length
    tracker = await startTrackerServer()
    seeder = await startSlowSeeder({ metainfo, root: media.dir, announce: [trackerUrlFor(tracker, 'seeder')], bytesPerSecond: SEED_RATE })
  }, 120_000)

  afterAll(async () => {
    await serve?.stop()
    await seeder?.destroy()
    await tracker?.close()
    await removeBundle()
  })

  /**
   * A fresh `peersite serve` (empty piece folder) given the magnet, then mpv on the clip's URL. Returns the run,
   * the gateway's request log, and the bytes the seeder sent while mpv ran (the gateway's only source).
   */
  async function play (name: string, args: string[]): Promise<{ run: MpvRun, requests: Logged[], seederSent: number }> {
    await serve?.stop()
    serve = await startServeProcess(`magnet:?xt=urn:btih:${metainfo.infoHash}`, [
      '--tracker', trackerUrlFor(tracker, `serve-${name}`), '--ice-servers', 'none', '--log-requests'
    ])
    const before = seeder.stats().uploaded
    const t0 = performance.now()
    const run = await mpv(`${serve.url}${CLIP}`, args)
    const seederSent = seeder.stats().uploaded - before
    const ms = performance.now() - t0
    // The gateway logs a request when it ends; mpv closed its connections on exit.
    const current = serve
    await expect.poll(() => requestLog(current.stderr()).filter((r) => r.path === `/${CLIP}`).length, { timeout: 10_000 }).toBeGreaterThan(0)
    const exit = await serve.stop()
    const requests = requestLog(serve.stderr())
    serve = undefined
    log(`${name}: mpv ${args.join(' ')} exited ${run.code} after ${ms.toFixed(0)} ms; restarts at ${restarts(run).join(', ')} s; ` +
      `seeder sent ${(seederSent / size * 100).toFixed(0)}% of the clip meanwhile; requests:\n` +
      requests.map((r) => `    ${r.line}`).join('\n'))
    expect(exit, 'serve exits 0 on SIGINT').toBe(0)
    expect(run.code, `mpv's exit status; its output:\n${run.output}`).toBe(0)
    return { run, requests, seederSent }
  }

  it('plays the clip from the start', async () => {
    const { run, requests } = await play('start', ['--length=2'])
    const loaded = run.reports.find((r) => r.event === 'file-loaded')
    expect(loaded).toBeDefined()
    expect(Math.abs((loaded as { duration: number }).duration - media.clip.seconds)).toBeLessThan(1)
    expect(restarts(run)).toHaveLength(1)
    expect(restarts(run)[0]).toBeLessThan(0.5)
    expect(endOf(run)).toMatchObject({ reason: 'eof' })
    expect(endOf(run)!.lastTimePos).toBeGreaterThan(1.5)
    // libavformat asks for the whole file as an open-ended range; the gateway answers 206 from byte 0.
    expect(requests.find((r) => r.range === 'bytes=0-')).toMatchObject({ method: 'GET', status: 206, start: 0 })
    expect(requests.every((r) => r.status === 206)).toBe(true)
  }, 120_000)

  it('starts at the middle (--start) before the gateway has the whole clip', async () => {
    const middle = media.clip.seconds / 2
    const { run, requests, seederSent } = await play('middle', [`--start=${middle}`, '--length=2'])
    // One keyframe a second: playback starts on the keyframe at or just before the target.
    expect(restarts(run)).toHaveLength(1)
    expect(restarts(run)[0]).toBeGreaterThanOrEqual(middle - 1)
    expect(restarts(run)[0]).toBeLessThanOrEqual(middle + 0.1)
    expect(endOf(run)).toMatchObject({ reason: 'eof' })
    expect(endOf(run)!.lastTimePos).toBeGreaterThan(middle + 1.5)
    // After reading the moov at the start, mpv asked for a range starting near the middle of the file...
    const into = requests.filter((r) => r.status === 206 && r.start !== null && r.start > size * 0.3 && r.start < size * 0.7)
    expect(into.length, JSON.stringify(requests)).toBeGreaterThan(0)
    // ...and was served it while the clip was still incomplete on the gateway (the seeder is its only source).
    expect(seederSent).toBeLessThan(size)
  }, 120_000)

  it('seeks during playback: drops the old connection, asks for a range at the target, plays on from there', async () => {
    const target = Math.round(media.clip.seconds * 0.75)
    const { run, requests, seederSent } = await play('seek', [`--end=${target + 2}`, '--script-opts=report-seek-at=1,report-seek-to=' + String(target)])
    expect(run.reports.some((r) => r.event === 'seek')).toBe(true)
    const at = restarts(run)
    expect(at).toHaveLength(2)
    expect(at[0]).toBeLessThan(0.5)
    expect(at[1]).toBeGreaterThanOrEqual(target - 1)
    expect(at[1]).toBeLessThanOrEqual(target + 0.1)
    expect(endOf(run)).toMatchObject({ reason: 'eof' })
    expect(endOf(run)!.lastTimePos).toBeGreaterThan(target + 1.5)
    // The first connection (from byte 0) was dropped by mpv, not completed; the seek's range starts far past it.
    expect(requests.find((r) => r.range === 'bytes=0-')).toMatchObject({ status: 206, closedEarly: true })
    expect(requests.some((r) => r.status === 206 && r.start !== null && r.start > size * 0.6), JSON.stringify(requests)).toBe(true)
    expect(seederSent).toBeLessThan(size)
  }, 120_000)
})
