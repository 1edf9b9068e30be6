/**
 * publish --key: the site key file (created 0600, reused, never overwritten, refused inside the site or output
 * folder), the signed pointer record in peersite.json, a seq that always grows, and the CLI's status and --json.
 */
import { chmod, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { UsageError } from '../../../engine/errors.js'
import { nodeVerifier } from '../../../engine/pointer/node.js'
import { PointerBook, parsePointerAddress, pointerFromJson, verifyPointer, webCryptoVerifier, type PointerRecordJson } from '../../../engine/pointer/index.js'
import { fromHex, toHex } from '../../../engine/util/bytes.js'
import { nextPointerSeq, publishSite, type Manifest, type PublishInit } from '../../../cli/lib/publish.js'
import { formatKeyFile, loadOrCreateSiteKey } from '../../../cli/lib/site-key.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'
import { cliPath, copyHello, makeLoaderDir, removeBundle, runCli } from './helpers.js'

const temps: TempDir[] = []
afterEach(async () => {
  for (const t of temps.splice(0)) await t.cleanup()
})
async function temp (): Promise<string> {
  const t = await makeTempDir('peersite-key-')
  temps.push(t)
  return t.path
}
const exists = async (p: string): Promise<boolean> => await stat(p).then(() => true, () => false)
const readManifest = async (out: string): Promise<Manifest> => JSON.parse(await readFile(join(out, 'peersite.json'), 'utf8')) as Manifest

async function setup (): Promise<{ dir: string, site: string, loaderDir: string, key: string, publish: (extra?: Partial<PublishInit>) => ReturnType<typeof publishSite> }> {
  const dir = await temp()
  const site = await copyHello(dir)
  const loaderDir = await makeLoaderDir(dir)
  const key = join(dir, 'keys', 'site.key')
  const publish = async (extra: Partial<PublishInit> = {}): ReturnType<typeof publishSite> =>
    await publishSite({ dir: site, trackers: ['ws://127.0.0.1:9/'], loaderDir, keyFile: key, stateDir: join(dir, 'state'), ...extra })
  return { dir, site, loaderDir, key, publish }
}

async function refusal (p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError)
    expect((err as Error).message).not.toContain('\n')
    return (err as Error).message
  }
  throw new Error('expected a refusal')
}

describe('publish --key (library)', () => {
  it('creates the key file (0600, in a new 0700 folder), signs a BEP 44 record for the infohash and writes the address', async () => {
    const { key, publish } = await setup()
    const result = await publish({ now: () => 1_700_000_000_000 })
    expect((await stat(key)).mode & 0o777).toBe(0o600)
    expect((await stat(join(key, '..'))).mode & 0o777).toBe(0o700)
    const file = JSON.parse(await readFile(key, 'utf8')) as Record<string, string>
    expect(file).toMatchObject({ type: 'peersite-site-key', version: 1, algorithm: 'ed25519' })
    expect(file.publicKey).toBe(toHex(result.pointer!.publicKey))

    const manifest = await readManifest(result.out)
    expect(manifest.address).toBe(`magnet:?xs=urn:btpk:${file.publicKey!}`)
    expect(result.address).toBe(manifest.address)
    // The record in the file, read back as a stranger would: untrusted JSON, checked against the address's key.
    const { publicKey } = parsePointerAddress(manifest.address!)
    const checked = await verifyPointer(webCryptoVerifier(), pointerFromJson(manifest.pointer), { publicKey })
    expect(checked.infoHash).toBe(manifest.infoHash)
    expect(checked.seq).toBe(1_700_000_000_000)
    // The secret is nowhere in the output.
    for (const name of await readdir(result.out)) expect(await readFile(join(result.out, name), 'latin1')).not.toContain(file.secretKey)
  })

  it('reuses the key: same address, and seq grows even when the clock goes back or an older folder is published again', async () => {
    const { dir, site, publish } = await setup()
    const v1 = await publish({ now: () => 5_000 })
    await writeFile(join(site, 'about.html'), '<p>version 2</p>\n')
    // The clock went back: the output folder being replaced still says 5000, so the new seq is above it.
    const v2 = await publish({ now: () => 1_000 })
    expect(toHex(v2.pointer!.publicKey)).toBe(toHex(v1.pointer!.publicKey))
    expect(v2.infoHash).not.toBe(v1.infoHash)
    expect(v2.pointer!.seq).toBe(5_001)
    // An old copy of the site published again into a new folder: the time gives it a higher seq.
    await mkdir(join(dir, 'old'))
    const old = await copyHello(join(dir, 'old')) // same name, same files: the same torrent as v1
    const v3 = await publishSite({ dir: old, trackers: ['ws://127.0.0.1:9/'], loaderDir: v1.plan.loaderDir, keyFile: v1.plan.key!.path, out: join(dir, 'v3'), now: () => 9_000, stateDir: join(dir, 'state') })
    expect(v3.infoHash).toBe(v1.infoHash)
    expect(v3.pointer!.seq).toBe(9_000)
    // A visitor who saw v2 takes v3 (newer), and refuses v1's record replayed (rollback).
    const book = new PointerBook({ verifier: nodeVerifier }, { publicKey: v1.pointer!.publicKey })
    expect((await book.offer(v2.pointer!)).kind).toBe('newer')
    expect((await book.offer(v3.pointer!)).kind).toBe('newer')
    const replay = await book.offer(v1.pointer!)
    expect(replay.kind === 'refused' && replay.error.reason).toBe('rollback')
  })

  it('remembers the highest seq per key in the state file: a new output folder with the clock gone back still goes up', async () => {
    const { dir, publish } = await setup()
    const v1 = await publish({ now: () => 50_000 })
    const v2 = await publish({ out: join(dir, 'elsewhere'), now: () => 10 })
    expect(v2.pointer!.seq).toBe(50_001)
    const state = JSON.parse(await readFile(join(dir, 'state', 'pointers.json'), 'utf8')) as { keys: Record<string, { seq: number }> }
    expect(state.keys[toHex(v1.pointer!.publicKey)]?.seq).toBe(50_001)
    expect((await stat(join(dir, 'state', 'pointers.json'))).mode & 0o777).toBe(0o600)
  })

  it('without --key, peersite.json has no address or pointer', async () => {
    const { publish } = await setup()
    const result = await publish({ keyFile: undefined })
    const manifest = await readManifest(result.out)
    expect(manifest).not.toHaveProperty('address')
    expect(manifest).not.toHaveProperty('pointer')
    expect(result.pointer).toBeUndefined()
  })

  it('refuses a key file inside the site folder or the output folder, writing nothing', async () => {
    const { dir, site, publish } = await setup()
    expect(await refusal(publish({ keyFile: join(site, 'site.key') }))).toMatch(/key file .*site\.key is inside the site folder .*it would be published/)
    expect(await refusal(publish({ keyFile: join(site, 'docs', 'new', 'k.json') }))).toMatch(/inside the site folder/)
    expect(await refusal(publish({ keyFile: join(dir, 'out', 'site.key'), out: join(dir, 'out') }))).toMatch(/inside the output folder .*it would be uploaded/)
    // Through a symlinked folder too.
    await symlink(site, join(dir, 'alias'))
    expect(await refusal(publish({ keyFile: join(dir, 'alias', 'k') }))).toMatch(/inside the site folder/)
    expect(await exists(join(site, 'site.key'))).toBe(false)
    expect(await exists(join(site, 'docs', 'new'))).toBe(false)
    expect(await exists(join(dir, 'out'))).toBe(false)
    expect(await exists(`${site}-peersite`)).toBe(false)
  })

  it('never overwrites a file that is not a key, and says in one line what is wrong with it', async () => {
    const { dir, publish } = await setup()
    const cases: Array<[string, string, RegExp]> = [
      ['notes.txt', 'my notes\n', /not JSON/],
      ['other.json', '{"name":"x"}', /no "type": "peersite-site-key"/],
      ['v2.key', JSON.stringify({ type: 'peersite-site-key', version: 2 }), /version 2 is not 1/],
      ['short.key', JSON.stringify({ type: 'peersite-site-key', version: 1, algorithm: 'ed25519', publicKey: 'ab', secretKey: 'cd' }), /is not 64 hex/]
    ]
    const good = formatKeyFile(fromHex('11'.repeat(32)))
    const damaged = good.replace(/"publicKey": "(..)/, '"publicKey": "00')
    cases.push(['damaged.key', damaged, /does not belong to its secretKey/])
    cases.push(['big.key', 'x'.repeat(5000), /5000 bytes/])
    for (const [name, content, pattern] of cases) {
      const path = join(dir, name)
      await writeFile(path, content)
      const message = await refusal(publish({ keyFile: path }))
      expect(message).toMatch(pattern)
      expect(message).toMatch(/is not a peersite site key .*left untouched/)
      expect(await readFile(path, 'utf8')).toBe(content)
    }
    await mkdir(join(dir, 'folder.key'))
    expect(await refusal(publish({ keyFile: join(dir, 'folder.key') }))).toMatch(/exists and is not a file/)
    await symlink(join(dir, 'notes.txt'), join(dir, 'link.key'))
    expect(await refusal(publish({ keyFile: join(dir, 'link.key') }))).toMatch(/is a symlink/)
    expect(await exists(join(dir, 'hello-peersite'))).toBe(false)
  })

  it('reads a key file written by formatKeyFile and flags one readable by others', async () => {
    const dir = await temp()
    const path = join(dir, 'k.json')
    await writeFile(path, formatKeyFile(fromHex('22'.repeat(32))), { mode: 0o644 })
    await chmod(path, 0o644)
    const key = await loadOrCreateSiteKey(path)
    expect(key.created).toBe(false)
    expect(key.exposed).toBe(true)
    // RFC 8032 derives the public key from the seed: the file's own publicKey matched it (else it was refused).
    expect(toHex(key.publicKey)).toBe((JSON.parse(await readFile(path, 'utf8')) as { publicKey: string }).publicKey)
    await key.save() // a no-op for an existing file
    await chmod(path, 0o600)
    expect((await loadOrCreateSiteKey(path)).exposed).toBe(false)
  })

  it('nextPointerSeq: the clock, or one above anything known, never past 2^53 - 1', () => {
    expect(nextPointerSeq(1000, [-1])).toBe(1000)
    expect(nextPointerSeq(1000, [1000])).toBe(1001)
    expect(nextPointerSeq(1000, [5, 4000, 7])).toBe(4001)
    expect(() => nextPointerSeq(1000, [Number.MAX_SAFE_INTEGER])).toThrow(UsageError)
  })
})

describe('publish --key (the CLI)', () => {
  let tmp: TempDir
  let env: Record<string, string>
  beforeAll(async () => {
    tmp = await makeTempDir('peersite-key-cli-')
    env = { PEERSITE_LOADER_DIR: await makeLoaderDir(tmp.path), PEERSITE_STATE_DIR: join(tmp.path, 'state') }
    await cliPath()
  }, 60_000)
  afterAll(async () => {
    await tmp.cleanup()
    await removeBundle()
  })

  it('--json adds publicKey, seq and address; the status lines say to back up a new key; the secret is never printed', async () => {
    const site = await copyHello(tmp.path)
    const key = join(tmp.path, 'site.key')
    const first = await runCli(['publish', site, '--no-seed', '--json', '--tracker', 'ws://127.0.0.1:9', '--key', key], { env })
    expect(first.code, first.stderr).toBe(0)
    const json = JSON.parse(first.stdout) as Record<string, unknown>
    expect(Object.keys(json).sort()).toEqual(['address', 'id', 'infoHash', 'keyId', 'magnetURI', 'out', 'publicKey', 'seq', 'url'])
    expect(json.publicKey).toMatch(/^[0-9a-f]{64}$/)
    expect(json.address).toBe(`magnet:?xs=urn:btpk:${String(json.publicKey)}`)
    expect(Number.isSafeInteger(json.seq)).toBe(true)
    const manifest = await readManifest(String(json.out))
    expect((manifest.pointer as PointerRecordJson).seq).toBe(json.seq)
    const secret = (JSON.parse(await readFile(key, 'utf8')) as { secretKey: string }).secretKey

    await writeFile(join(site, 'about.html'), '<p>changed</p>\n')
    const second = await runCli(['publish', site, '--no-seed', '--tracker', 'ws://127.0.0.1:9', '--key', key], { env })
    expect(second.code, second.stderr).toBe(0)
    // The printed link carries the WebSocket tracker, so that `get <address as printed>` finds the site there (before:
    // the bare key, with which get asked the public trackers); --json's address stays the bare key.
    expect(second.stdout).toContain(`  address:  ${String(json.address)}&tr=ws%3A%2F%2F127.0.0.1%3A9\n`)
    expect(second.stdout).toMatch(new RegExp(`  key: +${String(json.publicKey)}, seq (\\d+)`))
    const seq2 = Number(/seq (\d+)/.exec(second.stdout)![1])
    expect(seq2).toBeGreaterThan(json.seq as number)
    expect(second.stdout).toContain(`key file: ${key}`)
    for (const out of [first.stdout, first.stderr, second.stdout, second.stderr]) expect(out).not.toContain(secret)

    const third = await runCli(['publish', site, '--no-seed', '--out', join(tmp.path, 'o3'), '--tracker', 'ws://127.0.0.1:9', '--key', join(tmp.path, 'k2', 'new.key')], { env })
    expect(third.code, third.stderr).toBe(0)
    expect(third.stdout).toMatch(/new key: +.*new\.key \(mode 0600\)\. Back it up now/)
  })

  it('a malformed key file is one error line, exit 1, nothing written', async () => {
    const dir = join(tmp.path, 'bad')
    await mkdir(dir)
    const site = await copyHello(dir)
    await writeFile(join(dir, 'k'), 'not a key\n')
    const result = await runCli(['publish', site, '--no-seed', '--key', join(dir, 'k')], { env })
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/^peersite: error: key file .*k is not a peersite site key \(not JSON\)/)
    expect(result.code).toBe(1)
    expect(await exists(`${site}-peersite`)).toBe(false)
    expect(await readFile(join(dir, 'k'), 'utf8')).toBe('not a key\n')
  })
})
