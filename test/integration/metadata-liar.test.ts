/**
 * BEP 9 from a liar over real WebRTC: a peer that announces a wrong metadata_size, or the right size with garbage,
 * is the first peer `peersite get <infohash>` meets; an honest seeder joins only after the liar has answered. The
 * download completes byte-identical and the liar's connection is dropped (banned, so it is not let back in).
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startSeeder } from '../../cli/lib/swarm.js'
import { toHex } from '../../engine/util/bytes.js'
import { makeTorrent, randomData } from '../fixtures/make-torrent.js'
import { startMetadataLiar, type MetadataLie } from '../helpers/metadata-liar.js'
import { makeTempDir } from '../helpers/tmp.js'
import { startTrackerServer, trackerUrlFor } from '../helpers/tracker.js'
import { assertInNetns, rtcConfig } from '../helpers/webrtc.js'
import { removeBundle, runCli } from '../unit/cli/helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})
afterAll(async () => await removeBundle())
beforeAll(() => assertInNetns())

const digest = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex')

describe('peersite get with a metadata liar connected first', () => {
  for (const lie of ['wrong-size', 'garbage'] as MetadataLie[]) {
    it(`${lie}: completes byte-identical from the honest seeder and drops the liar`, async () => {
      const tracker = await startTrackerServer()
      cleanups.push(async () => await tracker.close())
      const dir = await makeTempDir()
      cleanups.push(async () => await dir.cleanup())
      // About 40 KB of info dictionary: three metadata pieces.
      const files = [
        { path: 'index.html', data: new TextEncoder().encode('<h1>honest</h1>') },
        { path: 'media/big.bin', data: randomData(2000 * 1024, 7) }
      ]
      const site = join(dir.path, 'site')
      for (const f of files) {
        await mkdir(join(site, f.path, '..'), { recursive: true })
        await writeFile(join(site, f.path), f.data)
      }
      const { metainfo } = await makeTorrent(files, 1024)
      expect(metainfo.info.length).toBeGreaterThan(2 * 16384)

      const liar = await startMetadataLiar({
        infoHash: metainfo.infoHashBytes, realSize: metainfo.info.length, lie, announce: [trackerUrlFor(tracker, 'liar')]
      })
      cleanups.push(async () => await liar.close())
      // The honest seeder announces only once the liar has answered the visitor.
      const honest = (async () => {
        while (liar.liar.answered === 0) await new Promise((resolve) => setTimeout(resolve, 20))
        const seeder = await startSeeder({ metainfo, root: site, trackers: [trackerUrlFor(tracker, 'honest')], rtcConfig })
        cleanups.push(async () => await seeder.close())
      })()

      const out = join(dir.path, 'copy')
      const result = await runCli([
        'get', metainfo.infoHash, '--out', out, '--tracker', trackerUrlFor(tracker, 'visitor'),
        '--ice-servers', 'none', '--timeout', '45'
      ], { timeoutMs: 60_000 })
      await honest
      expect(result.stderr).toMatch(new RegExp(`peer ${toHex(liar.liar.peerId)}: banned: sent \\d+ bytes of metadata that do not match the infohash`))
      expect(result.code, result.stderr).toBe(0)
      for (const f of files) expect(digest(await readFile(join(out, f.path)))).toBe(digest(f.data))
      // Dropped: its connection to the visitor was closed, and it was asked about one metadata's worth at most.
      expect(liar.liar.closed).toBeGreaterThanOrEqual(1)
      expect(liar.liar.answered).toBeLessThanOrEqual(2 * Math.ceil(liar.liar.size / 16384))
    })
  }
})
