/**
 * peersite on the BitTorrent network, over TCP, with ordinary clients from Debian packages (aria2c, Transmission):
 * everything on 127.0.0.1 inside the test namespace, trackers are `peersite tracker` processes, DHT only with a
 * local bootstrap node.
 *   - aria2c downloads a site from `peersite seed` through the tracker's HTTP announce;
 *   - `peersite get` downloads it from aria2c seeding the same files (found through the tracker's UDP announce);
 *   - Transmission downloads it from `peersite seed` too;
 *   - two Node peers find each other on a DHT with a local bootstrap node and no tracker at all.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import DHT from 'bittorrent-dht'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startBtNetwork } from '../../cli/lib/bt-network.js'
import { download, startSeeder } from '../../cli/lib/swarm.js'
import { makeTorrent, randomData } from '../fixtures/make-torrent.js'
import { aria2c, startPeersite, startProc, startTrackerProcess, waitForOutput, waitForSeeders, writePadFiles, type Proc } from '../helpers/bt-clients.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { assertInNetns } from '../helpers/webrtc.js'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

beforeAll(() => assertInNetns())

/** The namespace's v0 address (scripts/in-netns.sh). */
const VETH_ADDRESS = '10.77.0.1'

const digest = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex')

const FILES = [
  { path: 'index.html', data: new TextEncoder().encode('<!doctype html><h1>over TCP</h1>') },
  { path: 'css/site.css', data: new TextEncoder().encode('h1 { color: teal }') },
  { path: 'media/big.bin', data: randomData(1_500_000, 7) },
  { path: 'media/small.bin', data: randomData(40_000, 8) }
]

async function writeSite (root: string): Promise<void> {
  for (const f of FILES) {
    await mkdir(join(root, f.path, '..'), { recursive: true })
    await writeFile(join(root, f.path), f.data)
  }
}

async function expectSameFiles (root: string): Promise<void> {
  for (const f of FILES) expect(digest(await readFile(join(root, f.path))), f.path).toBe(digest(f.data))
}

function track (proc: Proc): Proc {
  cleanups.push(async () => await proc.stop())
  return proc
}

/** A temp dir with site/ and site-peersite/ (published with these trackers, not seeding). */
async function published (trackers: string[]): Promise<{ dir: TempDir, site: string, out: string, infoHash: string }> {
  const dir = await makeTempDir()
  cleanups.push(async () => await dir.cleanup())
  const site = join(dir.path, 'site')
  await writeSite(site)
  const pub = track(await startPeersite(['publish', site, '--no-seed', '--json', ...trackers.flatMap((t) => ['--tracker', t])]))
  expect(await pub.exited).toBe(0)
  const json = JSON.parse(/^\{.*\}$/m.exec(pub.output())![0]) as { infoHash: string, out: string }
  return { dir, site, out: json.out, infoHash: json.infoHash }
}

describe('peersite and ordinary BitTorrent clients over TCP', () => {
  it('aria2c downloads a site from `peersite seed` through `peersite tracker`\'s HTTP announce', { timeout: 120_000 }, async () => {
    const tracker = await startTrackerProcess()
    track(tracker.proc)
    const { dir, out, infoHash } = await published([tracker.ws, tracker.http])
    const seed = track(await startPeersite(['seed', out, '--peer-port', '0']))
    await waitForOutput(seed, /network: +TCP 127\.0\.0\.1:\d+, DHT off/)
    await waitForSeeders(tracker.http, infoHash)

    const got = join(dir.path, 'aria2')
    const client = track(aria2c(['--seed-time=0', '-d', got, join(out, 'site.torrent')]))
    expect(await client.exited, client.output()).toBe(0)
    await expectSameFiles(join(got, 'site'))
    // What aria2c got came from the peersite seeder (the only peer), not from anywhere else.
    await waitForOutput(seed, /up [1-9][\d.]* (kB|MB)/)
  })

  it('`peersite get` downloads a site from aria2c seeding it, found through the tracker\'s UDP announce', { timeout: 120_000 }, async () => {
    const tracker = await startTrackerProcess()
    track(tracker.proc)
    // The torrent names the UDP tracker only, so `peersite get` announces over BEP 15. aria2c announces over HTTP
    // to the same tracker (its UDP tracker client needs its DHT on); the tracker keeps one swarm for both.
    const { dir, out, infoHash } = await published([tracker.ws, tracker.udp])
    // aria2c knows no BEP 47: it seeds only once the site's pad files are on disk too (README "The BitTorrent
    // network"). This site has some, so without them its hash check fails and it never seeds.
    expect(await writePadFiles(join(out, 'site.torrent'), dir.path)).toBeGreaterThan(0)
    track(aria2c(['-V', '--seed-ratio=0.0', '--seed-time=60', `--bt-exclude-tracker=${tracker.udp}`, `--bt-tracker=${tracker.http}`, '-d', dir.path, join(out, 'site.torrent')]))
    await waitForSeeders(tracker.http, infoHash)

    const copy = join(dir.path, 'copy')
    const get = track(await startPeersite(['get', join(out, 'site.torrent'), '--out', copy, '--json', '--timeout', '60']))
    expect(await get.exited, get.output()).toBe(0)
    const result = JSON.parse(/^\{.*\}$/m.exec(get.output())![0]) as { bytes: number }
    expect(result.bytes).toBe(FILES.reduce((n, f) => n + f.data.length, 0))
    await expectSameFiles(copy)
  })

  it('Transmission downloads a site from `peersite seed` (HTTP tracker)', async () => {
    // Transmission refuses peers on 127.0.0.0/8 ("martian" addresses), so this swarm uses the namespace's own
    // veth address: still nothing leaves the private namespace.
    const tracker = await startTrackerProcess(VETH_ADDRESS)
    track(tracker.proc)
    const { dir, out, infoHash } = await published([tracker.http])
    const seed = track(await startPeersite(['seed', out, '--peer-port', '0', '--no-dht']))
    // Every address (the tracker is not on loopback): IPv6 and IPv4 where the system has IPv6.
    await waitForOutput(seed, /network: +TCP (\[::\]|0\.0\.0\.0):\d+, DHT off/)
    await waitForSeeders(tracker.http, infoHash)

    const got = join(dir.path, 'transmission')
    const home = join(dir.path, 'transmission-home')
    await mkdir(got)
    await mkdir(home)
    // No DHT, local peer discovery, PEX, uTP or port mapping: the tracker and TCP only.
    await writeFile(join(home, 'settings.json'), JSON.stringify({
      'dht-enabled': false, 'lpd-enabled': false, 'pex-enabled': false, 'utp-enabled': false, 'port-forwarding-enabled': false,
      'blocklist-enabled': false, 'rpc-enabled': false, encryption: 0, 'peer-port-random-on-start': true, 'message-level': 2
    }))
    const client = track(startProc('transmission-cli', ['-g', home, '-w', got, join(out, 'site.torrent')]))
    // transmission-cli keeps seeding once done: wait for its files, then stop it.
    const started = Date.now()
    for (;;) {
      try {
        await expectSameFiles(join(got, 'site'))
        break
      } catch (err) {
        if (Date.now() - started > 60_000) throw new Error(`transmission did not finish: ${client.output().slice(-2000)}`, { cause: err })
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
    }
    await client.stop()
    await waitForOutput(seed, /up [1-9][\d.]* (kB|MB)/)
  }, 120_000)
})

describe('the mainline DHT, locally', () => {
  it('two Node peers find each other through a local bootstrap node, with no tracker', async () => {
    const bootstrap = new DHT({ bootstrap: false })
    await new Promise<void>((resolve) => bootstrap.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => await new Promise<void>((resolve) => bootstrap.destroy(resolve)))
    const node = `127.0.0.1:${bootstrap.address().port}`

    const dir = await makeTempDir()
    cleanups.push(async () => await dir.cleanup())
    const site = join(dir.path, 'site')
    await writeSite(site)
    const { metainfo } = await makeTorrent(FILES, 64 * 1024)
    const netA = await startBtNetwork({ tcp: true, port: 0, host: '127.0.0.1', dht: true, dhtBootstrap: [node] })
    cleanups.push(async () => await netA.close())
    const seeder = await startSeeder({ metainfo, root: site, trackers: [], network: netA })
    cleanups.push(async () => await seeder.close())

    const netB = await startBtNetwork({ tcp: true, port: 0, host: '127.0.0.1', dht: true, dhtBootstrap: [node] })
    cleanups.push(async () => await netB.close())
    const copy = join(dir.path, 'copy')
    // By infohash alone: the metadata comes from the peer the DHT named (BEP 9 over TCP).
    const result = await download({ infoHash: metainfo.infoHash, out: copy, trackers: [], network: netB, signal: AbortSignal.timeout(60_000) })
    expect(result.stats.verified).toBe(metainfo.length)
    await expectSameFiles(copy)
    expect(seeder.stats().uploaded).toBeGreaterThanOrEqual(metainfo.length)
  })
})
