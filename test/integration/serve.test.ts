/**
 * `peersite serve` end to end: the command as a process, given a magnet and a tracker, fetches the metadata and the
 * pieces over real WebRTC (node-datachannel) from a seeder, and serves the site over HTTP: Range requests give
 * exactly those bytes, a full GET is byte-identical, HEAD, 416, folder index pages.
 */
import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSeeder, type Seeder } from '../../cli/lib/swarm.js'
import { makeTorrent, randomData } from '../fixtures/make-torrent.js'
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { startTrackerServer, trackerUrlFor, type TrackerServer } from '../helpers/tracker.js'
import { assertInNetns, rtcConfig } from '../helpers/webrtc.js'
import { removeBundle } from '../unit/cli/helpers.js'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const clip = randomData(2_500_000, 31)
const FILES = [
  { path: 'index.html', data: utf8('<h1>home</h1>') },
  { path: 'docs/index.html', data: utf8('<h1>docs</h1>') },
  { path: 'media/clip.mp4', data: clip }
]
const SIZE = clip.length
const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex')

let tracker: TrackerServer
let dir: TempDir
let seeder: Seeder
let serve: ServeProcess
let base: string

beforeAll(async () => {
  assertInNetns()
  tracker = await startTrackerServer()
  dir = await makeTempDir()
  const root = join(dir.path, 'site')
  for (const f of FILES) {
    await mkdir(join(root, f.path, '..'), { recursive: true })
    await writeFile(join(root, f.path), f.data)
  }
  const { metainfo } = await makeTorrent(FILES, 32 * 1024)
  seeder = await startSeeder({ metainfo, root, trackers: [trackerUrlFor(tracker, 'seeder')], rtcConfig })
  serve = await startServeProcess(`magnet:?xt=urn:btih:${metainfo.infoHash}`, ['--tracker', trackerUrlFor(tracker, 'serve'), '--ice-servers', 'none'])
  base = serve.url
}, 60_000)

afterAll(async () => {
  await serve?.stop()
  await seeder?.close()
  await tracker?.close()
  await dir?.cleanup()
  await removeBundle()
})

describe('peersite serve over WebRTC', () => {
  it('serves Range requests with exactly those bytes, before the file is complete', async () => {
    // The middle first: a player seeking before anything is downloaded.
    const cases: Array<[string, number, number]> = [
      ['bytes=1200000-1299999', 1_200_000, 1_299_999],
      ['bytes=-1000', SIZE - 1000, SIZE - 1],
      ['bytes=2000000-', 2_000_000, SIZE - 1],
      ['bytes=0-99', 0, 99]
    ]
    for (const [range, start, end] of cases) {
      const res = await fetch(`${base}media/clip.mp4`, { headers: { Range: range } })
      expect(res.status, range).toBe(206)
      expect(res.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${SIZE}`)
      expect(res.headers.get('content-type')).toBe('video/mp4')
      expect(sha1(new Uint8Array(await res.arrayBuffer())), range).toBe(sha1(clip.subarray(start, end + 1)))
    }
  }, 60_000)

  it('a full GET is byte-identical to the file; HEAD and 416', async () => {
    const res = await fetch(`${base}media/clip.mp4`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe(String(SIZE))
    expect(sha1(new Uint8Array(await res.arrayBuffer()))).toBe(sha1(clip))

    const head = await fetch(`${base}media/clip.mp4`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe(String(SIZE))
    expect(head.headers.get('accept-ranges')).toBe('bytes')

    const bad = await fetch(`${base}media/clip.mp4`, { headers: { Range: `bytes=${SIZE + 5}-` } })
    expect(bad.status).toBe(416)
    expect(bad.headers.get('content-range')).toBe(`bytes */${SIZE}`)
    await bad.arrayBuffer()
  }, 60_000)

  it('a folder path gives its index.html', async () => {
    expect(await (await fetch(base)).text()).toBe('<h1>home</h1>')
    expect(await (await fetch(`${base}docs/`)).text()).toBe('<h1>docs</h1>')
  }, 30_000)

  it('stops on SIGINT', async () => {
    expect(await serve.stop()).toBe(0)
    expect(serve.stderr()).toMatch(/SIGINT received, stopping/)
  }, 30_000)
})
