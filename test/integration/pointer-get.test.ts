/**
 * Site keys end to end over real WebRTC (node-datachannel) through a real WebSocket tracker: two versions published
 * with one key; the newest is found in the pointer swarm (BEP 46 target) and downloaded by `peersite get <btpk
 * magnet>` as a process, even with a peer replaying the older record; two records with one seq (a fork) are refused.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startPointerSeeders, resolvePointer } from '../../cli/lib/pointer-swarm.js'
import { PointerStateFile } from '../../cli/lib/pointer-state.js'
import type { PublishResult } from '../../cli/lib/publish.js'
import { parseKeyFile } from '../../cli/lib/site-key.js'
import { startSeeder } from '../../cli/lib/swarm.js'
import { nodeSigner } from '../../engine/pointer/node.js'
import { signPointer, type PointerRecord } from '../../engine/pointer/index.js'
import { toHex } from '../../engine/util/bytes.js'
import { publishTwoVersions } from '../helpers/keyed-versions.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { startTrackerServer, trackerUrlFor, type TrackerServer } from '../helpers/tracker.js'
import { assertInNetns, rtcConfig } from '../helpers/webrtc.js'
import { cliPath, copyHello, removeBundle, runCli } from '../unit/cli/helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

let tmp: TempDir
let tracker: TrackerServer
let v1: PublishResult
let v2: PublishResult
let keyPath: string
let loaderDir: string

beforeAll(async () => {
  assertInNetns()
  tmp = await makeTempDir('peersite-pointer-')
  tracker = await startTrackerServer({ intervalMs: 2000 })
  ;({ v1, v2, loaderDir, keyFile: keyPath } = await publishTwoVersions(tmp.path, [tracker.url]))
  await cliPath()
}, 120_000)
afterAll(async () => {
  await tracker?.close()
  await removeBundle()
  await tmp?.cleanup()
})

async function pointerSeeder (name: string, record: PointerRecord): Promise<void> {
  const seeders = await startPointerSeeders({ record, trackers: [trackerUrlFor(tracker, name)], rtcConfig, announceIntervalMs: 2000 })
  cleanups.push(async () => await seeders.close())
}

describe('site keys over WebRTC', () => {
  it('peersite get <btpk magnet> finds the newest version in the pointer swarm and downloads it, despite a replayed older record', async () => {
    expect(v2.pointer!.seq).toBeGreaterThan(v1.pointer!.seq)
    // The publisher of v2: its record in the pointer swarm and in v2's swarm, and v2's files.
    const ptr = await startPointerSeeders({ record: v2.pointer!, trackers: [trackerUrlFor(tracker, 'publisher-pointer')], rtcConfig, announceIntervalMs: 2000 })
    cleanups.push(async () => await ptr.close())
    const seeder = await startSeeder({ metainfo: v2.metainfo, root: v2.plan.site.root, trackers: [trackerUrlFor(tracker, 'publisher-site')], rtcConfig, pointer: ptr.siteExchange })
    cleanups.push(async () => await seeder.close())
    // A stale peer still announcing version 1's record (a rollback to refuse).
    await pointerSeeder('stale', v1.pointer!)

    const out = join(tmp.path, 'got')
    const stateDir = join(tmp.path, 'visitor-state')
    const result = await runCli(['get', `${v2.address!}&tr=${encodeURIComponent(tracker.url)}`, '--out', out, '--ice-servers', 'none', '--json', '--timeout', '60'],
      { env: { PEERSITE_STATE_DIR: stateDir }, timeoutMs: 90_000 })
    expect(result.code, result.stderr).toBe(0)
    const json = JSON.parse(result.stdout) as { infoHash: string, seq: number, address: string, publicKey: string }
    expect(json.infoHash).toBe(v2.infoHash)
    expect(json.seq).toBe(v2.pointer!.seq)
    expect(json.address).toBe(v2.address)
    expect(result.stderr).toContain(`newest version: seq ${v2.pointer!.seq}, infohash ${v2.infoHash}`)
    expect(await readFile(join(out, 'about.html'), 'utf8')).toBe('<h1>About, version 2</h1>\n')
    // The visitor remembers seq 2 for the key: a later replay of version 1 is a rollback even after a restart.
    const known = await new PointerStateFile(stateDir).load(toHex(v2.pointer!.publicKey))
    expect(known?.seq).toBe(v2.pointer!.seq)
  }, 120_000)

  it('refuses a fork: two different records with the same seq from the swarm', async () => {
    const signer = nodeSigner(parseKeyFile(await readFile(keyPath, 'utf8'), keyPath))
    const seq = v2.pointer!.seq + 1000
    await pointerSeeder('fork-a', await signPointer(signer, { infoHash: v1.infoHash, seq }))
    await pointerSeeder('fork-b', await signPointer(signer, { infoHash: v2.infoHash, seq }))
    const warnings: string[] = []
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new Error('no fork seen in 60 s')), 60_000)
    cleanups.push(async () => clearTimeout(timer))
    // Wait until both have been heard: resolve again until the fork shows (a visitor connected to one seeder only
    // would see no fork, which is right).
    let error: Error | undefined
    const state = new PointerStateFile(join(tmp.path, 'fork-state'))
    for (let attempt = 0; attempt < 5 && error === undefined; attempt++) {
      await resolvePointer({
        publicKey: v2.pointer!.publicKey, trackers: [trackerUrlFor(tracker, `fork-visitor-${attempt}`)], rtcConfig, signal: controller.signal, settleMs: 3000, state,
        onWarning: (w) => warnings.push(w)
      }).catch((err: Error) => { error = err })
    }
    expect(error?.message).toMatch(new RegExp(`signed two different versions with seq ${seq}: both refused`))
    expect((await state.load(toHex(v2.pointer!.publicKey)))?.forked).toBe(true)
  }, 120_000)
})

describe('publish --key and seed <out-dir> as processes', () => {
  it('a visitor finds the version `publish --key --local` seeds, and later the one `seed <out-dir>` announces', async () => {
    const { spawn } = await import('node:child_process')
    const main = await cliPath()
    const dir = join(tmp.path, 'procs')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(dir)
    const site = await copyHello(dir)
    const key = join(dir, 'k.key')
    const env = { ...process.env, PEERSITE_LOADER_DIR: loaderDir, PEERSITE_STATE_DIR: join(dir, 'state'), PEERSITE_DEBUG: '' }
    const publisher = spawn(process.execPath, [main, 'publish', site, '--local', '--json', '--key', key], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    cleanups.push(async () => {
      if (publisher.exitCode === null) {
        const exited = new Promise((resolve) => publisher.once('exit', resolve))
        publisher.kill('SIGINT')
        await exited
      }
    })
    const line = await new Promise<string>((resolve, reject) => {
      let out = ''
      publisher.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d
        if (out.includes('\n')) resolve(out.split('\n')[0]!)
      })
      publisher.once('exit', (code) => reject(new Error(`publish exited with ${String(code)}`)))
    })
    const published = JSON.parse(line) as { address: string, infoHash: string, seq: number, out: string }
    const manifest = JSON.parse(await readFile(join(published.out, 'peersite.json'), 'utf8')) as { trackers: string[] }
    const got = await runCli(['get', published.address, '--tracker', manifest.trackers[0]!, '--out', join(dir, 'got'), '--ice-servers', 'none', '--json', '--timeout', '60'],
      { env: { PEERSITE_STATE_DIR: join(dir, 'visitor-state') }, timeoutMs: 90_000 })
    expect(got.code, got.stderr).toBe(0)
    expect((JSON.parse(got.stdout) as { infoHash: string, seq: number }).infoHash).toBe(published.infoHash)

    // The publisher stops; `seed <out-dir>` later announces the record from peersite.json (checked against the address).
    const stopped = new Promise((resolve) => publisher.once('exit', resolve))
    publisher.kill('SIGINT')
    await stopped
    const seeder = spawn(process.execPath, [main, 'seed', published.out, '--tracker', trackerUrlFor(tracker, 'seed-cmd'), '--ice-servers', 'none'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    cleanups.push(async () => {
      if (seeder.exitCode === null) {
        const exited = new Promise((resolve) => seeder.once('exit', resolve))
        seeder.kill('SIGINT')
        await exited
      }
    })
    const seedOut = await new Promise<string>((resolve, reject) => {
      let out = ''
      seeder.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d
        if (out.includes('address:')) resolve(out)
      })
      seeder.once('exit', (code) => reject(new Error(`seed exited with ${String(code)}`)))
    })
    // With the tracker seed announces to (&tr=), so that the address as printed finds the site (a bare key asks the
    // public trackers).
    expect(seedOut).toContain(`  address:  ${published.address}&tr=${encodeURIComponent(trackerUrlFor(tracker, 'seed-cmd'))} (seq ${published.seq})`)
    const again = await runCli(['get', published.address, '--tracker', trackerUrlFor(tracker, 'visitor-2'), '--out', join(dir, 'got2'), '--ice-servers', 'none', '--json', '--timeout', '60'],
      { env: { PEERSITE_STATE_DIR: join(dir, 'visitor-state') }, timeoutMs: 90_000 })
    expect(again.code, again.stderr).toBe(0)
    expect((JSON.parse(again.stdout) as { infoHash: string, seq: number }).seq).toBe(published.seq)
  }, 180_000)
})
