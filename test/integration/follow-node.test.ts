/**
 * `peersite serve <site address>` follows a keyed site (issue 11): it serves the newest version the pointer swarm
 * shows, and when a newer one is announced while it runs, serves that one on the same address. Real WebRTC
 * (node-datachannel) through a real tracker; serve runs as a process.
 *
 *   sh scripts/in-netns.sh npx vitest run test/integration/follow-node.test.ts
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startPointerSeeders } from '../../cli/lib/pointer-swarm.js'
import { publishSite, type PublishResult } from '../../cli/lib/publish.js'
import { startSeeder } from '../../cli/lib/swarm.js'
import { publishTwoVersions } from '../helpers/keyed-versions.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { startTrackerServer, trackerUrlFor, type TrackerServer } from '../helpers/tracker.js'
import { assertInNetns, rtcConfig } from '../helpers/webrtc.js'
import { cliPath, copyHello, makeLoaderDir, removeBundle, runCli } from '../unit/cli/helpers.js'

const closers: Array<() => Promise<void>> = []
let tmp: TempDir
let tracker: TrackerServer
let v1: PublishResult
let v2: PublishResult

beforeAll(async () => {
  assertInNetns()
  tmp = await makeTempDir('peersite-follow-node-')
  tracker = await startTrackerServer({ intervalMs: 2000 })
  ;({ v1, v2 } = await publishTwoVersions(tmp.path, [tracker.url]))
  await cliPath()
}, 120_000)

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {})
  await tracker?.close()
  await removeBundle()
  await tmp?.cleanup()
})

async function seedVersion (v: PublishResult, name: string): Promise<void> {
  const pointers = await startPointerSeeders({ record: v.pointer!, trackers: [trackerUrlFor(tracker, `${name}-pointer`)], rtcConfig, announceIntervalMs: 2000 })
  closers.push(async () => await pointers.close())
  const seeder = await startSeeder({ metainfo: v.metainfo, root: v.plan.site.root, trackers: [trackerUrlFor(tracker, `${name}-site`)], rtcConfig, pointer: pointers.siteExchange, announceIntervalMs: 2000 })
  closers.push(async () => await seeder.close())
}

/** Resolves with the process's stdout once it contains `text`. */
async function waitFor (child: ChildProcess, out: { text: string }, text: string, timeoutMs = 60_000): Promise<string> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${text}" in ${timeoutMs} ms; stdout: ${out.text}`)), timeoutMs)
    const check = (): void => {
      if (!out.text.includes(text)) return
      clearTimeout(timer)
      child.stdout?.off('data', check)
      resolve(out.text)
    }
    child.stdout?.on('data', check)
    check()
  })
}

/**
 * Runs the CLI (`args`) as a process with its own state directory, collecting its stdout and stderr; stopped with
 * Ctrl-C at the end (SIGKILL after 10 s: a hang would be a bug, but must not hold the test run).
 */
async function startCli (args: string[], stateDir: string): Promise<{ child: ChildProcess, out: { text: string }, err: { text: string } }> {
  const main = await cliPath()
  const env = { ...process.env, PEERSITE_STATE_DIR: stateDir, PEERSITE_DEBUG: '' }
  const child = spawn(process.execPath, [main, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  closers.push(async () => {
    if (child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)))
    child.kill('SIGINT')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    const how = await exited
    clearTimeout(timer)
    if (how !== 0 && how !== 130) console.log(`${args[0]!} ended with ${String(how)}`)
  })
  const out = { text: '' }
  const err = { text: '' }
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out.text += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err.text += d })
  return { child, out, err }
}

describe('serve <site address>', () => {
  it('serves the newest version, and switches to a newer one announced while it runs', async () => {
    // Only version 1 is out at first (the publisher's record of version 2 is not announced yet).
    const v1Pointers = await startPointerSeeders({ record: v1.pointer!, trackers: [trackerUrlFor(tracker, 'v1-pointer')], rtcConfig, announceIntervalMs: 2000 })
    closers.push(async () => await v1Pointers.close())
    const { child, out, err } = await startCli(['serve', `${v1.address!}&tr=${encodeURIComponent(tracker.url)}`, '--port', '0', '--ice-servers', 'none'], join(tmp.path, 'serve-state'))
    const first = await waitFor(child, out, 'address:')
    expect(first).toContain(`infohash: ${v1.infoHash}`)
    const url = /on (http:\/\/\S+)/.exec(first)![1]!

    // The publisher announces version 2 (and seeds it); serve switches to it on the same address.
    await seedVersion(v2, 'v2')
    await waitFor(child, out, `now serving the newer version seq ${v2.pointer!.seq} (infohash ${v2.infoHash})`)
    const res = await fetch(new URL('about.html', url))
    expect(res.status, err.text).toBe(200)
    expect(await res.text()).toBe('<h1>About, version 2</h1>\n')
  }, 150_000)

  it('seed <site address> mirrors the newest version: a visitor gets it from the mirror with the publisher gone', async () => {
    // The publisher's seeders of version 2 from the test before are running; the mirror joins.
    const mirrorDir = join(tmp.path, 'mirror')
    const { child, out } = await startCli(['seed', `${v2.address!}&tr=${encodeURIComponent(trackerUrlFor(tracker, 'mirror'))}`, '--path', mirrorDir, '--ice-servers', 'none'], join(tmp.path, 'mirror-state'))
    await waitFor(child, out, `seeding version seq ${v2.pointer!.seq}`)

    // Every publisher seeder stops: the mirror alone has version 2 and its record.
    for (const close of closers.splice(0, closers.length - 1).reverse()) await close()
    const got = await runCli(['get', v2.address!, '--tracker', trackerUrlFor(tracker, 'late-visitor'), '--out', join(tmp.path, 'got'), '--ice-servers', 'none', '--json', '--timeout', '60'],
      { env: { PEERSITE_STATE_DIR: join(tmp.path, 'late-visitor-state') }, timeoutMs: 90_000 })
    expect(got.code, got.stderr).toBe(0)
    expect((JSON.parse(got.stdout) as { infoHash: string }).infoHash).toBe(v2.infoHash)
  }, 150_000)

  it('seed <site address> follows a newer version, copying the pieces it shares by hash', async () => {
    const dir = join(tmp.path, 'follow-seed')
    const loaderDir = await makeLoaderDir(dir)
    const site = await copyHello(dir)
    const common = { dir: site, trackers: [tracker.url], loaderDir, keyFile: join(dir, 'k.key'), stateDir: join(dir, 'publisher-state') }
    const w1 = await publishSite({ ...common, out: join(dir, 'w1') })
    // Version 2 from a copy, so that version 1's seeder keeps its files.
    const site2 = await copyHello(dir, 'hello2')
    await writeFile(join(site2, 'about.html'), '<h1>About, the third</h1>\n')
    const w2 = await publishSite({ ...common, dir: site2, out: join(dir, 'w2') })
    await seedVersion(w1, 'w1')
    const { child, out, err } = await startCli(['seed', `${w1.address!}&tr=${encodeURIComponent(trackerUrlFor(tracker, 'mirror-2'))}`, '--path', join(dir, 'mirror'), '--ice-servers', 'none'], join(dir, 'mirror-state'))
    await waitFor(child, out, `seeding version seq ${w1.pointer!.seq}`).catch((e: Error) => { throw new Error(`${e.message}; stderr: ${err.text}`) })
    await seedVersion(w2, 'w2')
    const text = await waitFor(child, out, `seeding version seq ${w2.pointer!.seq}`)
    const copied = Number(/(\d+) pieces of seq \d+ copied/.exec(text)?.[1])
    expect(copied).toBeGreaterThan(0)
    expect(copied).toBeLessThan(w2.metainfo.pieceCount)
    expect(await readFile(join(dir, 'mirror', `${w2.pointer!.seq}-${w2.infoHash}`, 'about.html'), 'utf8')).toBe('<h1>About, the third</h1>\n')
  }, 150_000)
})
