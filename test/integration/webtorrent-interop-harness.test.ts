/**
 * Proves the interop harness: a stock WebTorrent seeder and a stock WebTorrent downloader, both in this Node
 * process, find each other through the in-process tracker and move files byte-identically over WebRTC.
 * The peersite <-> WebTorrent interop tests are built on these same helpers.
 */
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { makeTempDir } from '../helpers/tmp.js'
import { startTrackerServer, type TrackerServer } from '../helpers/tracker.js'
import { assertInNetns } from '../helpers/webrtc.js'
import { webtorrentDownload, webtorrentSeed } from '../helpers/webtorrent-peer.js'

// Usually ~1 s. Under heavy CPU load libdatachannel sometimes rejects the first answer ("Got a remote
// candidate without ICE transport"); WebTorrent then holds the half-open peer until its 25 s WebRTC connect
// timeout before it accepts that peer id again, so leave room for that recovery.
const TEST_TIMEOUT = 120_000

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  // Reverse order: downloaders, then seeders, then the tracker.
  while (cleanups.length > 0) await cleanups.pop()!()
})

async function tracker (): Promise<TrackerServer> {
  // WebSocket clients re-announce every intervalMs / 5 (bittorrent-tracker's server): 1 s here, so a
  // connection attempt that fails (libdatachannel has a rare race under CPU load) is retried quickly.
  const t = await startTrackerServer({ intervalMs: 5_000 })
  cleanups.push(() => t.close())
  return t
}

function equalBytes (a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a).equals(Buffer.from(b))
}

describe('WebTorrent <-> WebTorrent through the in-process tracker', () => {
  it('moves a 1 MB random single-file torrent byte-identically (magnet: metadata over ut_metadata)', async () => {
    assertInNetns()
    const { url } = await tracker()
    expect(url.startsWith('ws://127.0.0.1:')).toBe(true)

    const dir = await makeTempDir()
    cleanups.push(() => dir.cleanup())
    const data = randomBytes(1024 * 1024)
    const path = join(dir.path, 'random.bin')
    await writeFile(path, data)

    const seed = await webtorrentSeed({ path, trackerUrl: url })
    cleanups.push(() => seed.close())
    expect(seed.infoHash).toMatch(/^[0-9a-f]{40}$/)
    expect(seed.torrentFile.byteLength).toBeGreaterThan(0)
    expect(seed.torrent.announce).toEqual([url])
    // The magnet link names our tracker and nothing else.
    const trs = new URL(seed.magnetURI).searchParams.getAll('tr')
    expect(trs).toEqual([url])

    const got = await webtorrentDownload({ magnetURI: seed.magnetURI, trackerUrl: url, timeoutMs: 100_000 })
    cleanups.push(() => got.close())
    expect([...got.files.keys()]).toEqual(['random.bin'])
    expect(equalBytes(got.files.get('random.bin'), data)).toBe(true)
    expect(got.timings.doneMs).toBeGreaterThan(0)
  }, TEST_TIMEOUT)

  it('moves a multi-file torrent given as a file set, by infohash alone', async () => {
    assertInNetns()
    const { url } = await tracker()
    const files = {
      'index.html': new TextEncoder().encode('<!doctype html><title>hi</title>'),
      'css/site.css': new TextEncoder().encode('body { color: red }'),
      'img/noise.bin': randomBytes(200_000)
    }
    const seed = await webtorrentSeed({ files, name: 'site', trackerUrl: url, pieceLength: 16 * 1024 })
    cleanups.push(() => seed.close())

    const got = await webtorrentDownload({ infoHash: seed.infoHash, trackerUrl: url, timeoutMs: 100_000 })
    cleanups.push(() => got.close())
    expect(new Set(got.files.keys())).toEqual(new Set(Object.keys(files)))
    for (const [name, bytes] of Object.entries(files)) {
      expect(equalBytes(got.files.get(name), bytes), name).toBe(true)
    }
  }, TEST_TIMEOUT)
})
