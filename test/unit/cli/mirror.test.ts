/**
 * `peersite mirror` on bad input: one line naming the problem, a non-zero exit, and no mirror folder left behind;
 * `publish --web-seed` refuses a URL it cannot use the same way; a source's trackers that are not tracker URLs are
 * warned about as get and seed do; what a killed mirror left half written is removed by the next one; mirror.json
 * holds every key's versions, and a damaged one is said; a file it cannot write is one warning naming it and why.
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startMirror, type MirroredSite } from '../../../cli/lib/mirror.js'
import { mirrorStatusLine } from '../../../cli/run/mirror.js'
import { PointerStateFile } from '../../../cli/lib/pointer-state.js'
import { generateEd25519, nodeSigner } from '../../../engine/pointer/node.js'
import { pointerId, signPointer } from '../../../engine/pointer/index.js'
import { toHex } from '../../../engine/util/bytes.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'
import { cliSandbox, copyHello, runCli, type RunResult } from './helpers.js'

const { env, fresh } = cliSandbox('peersite-mirror-cli-')

/** One line; exit status 2, each case here being a wrong command line. */
function oneError (result: RunResult, pattern: RegExp): void {
  expect(result.stdout).toBe('')
  const lines = result.stderr.split('\n').filter((l) => l !== '')
  expect(lines, result.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
  expect(result.code).toBe(2)
}

describe('peersite mirror: bad input', () => {
  it('refuses a source that is not a site, before creating its folder', async () => {
    const dir = join(await fresh(), 'mirror')
    oneError(await runCli(['mirror', 'not-a-site', '--dir', dir], { env }), /^peersite: error: not an infohash, magnet URI or \.torrent file: not-a-site$/)
    await expect(stat(dir)).rejects.toThrow()
  })

  it('refuses --keep 0 and a bad --status-interval', async () => {
    const dir = join(await fresh(), 'mirror')
    const hash = '0123456789abcdef0123456789abcdef01234567'
    oneError(await runCli(['mirror', hash, '--dir', dir, '--keep', '0'], { env }), /invalid --keep "0"/)
    oneError(await runCli(['mirror', hash, '--dir', dir, '--status-interval', '-1'], { env }), /invalid --status-interval/)
    await expect(stat(dir)).rejects.toThrow()
  })

  it('publish refuses a --web-seed that is not http(s), writing nothing', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    const out = join(dir, 'out')
    oneError(await runCli(['publish', site, '--out', out, '--web-seed', 'ftp://files.example.org/', '--no-seed'], { env }), /--web-seed ftp:\/\/files\.example\.org\/: only http: and https: URLs/)
    await expect(stat(out)).rejects.toThrow()
  })
})

describe('peersite mirror: the trackers a source lists', () => {
  const hash = '0123456789abcdef0123456789abcdef01234567'
  const leftOut = (url: string): string => `tracker "${url}" of the source is not a ws://, wss://, http://, https:// or udp:// URL: left out`

  /** The warnings of a mirror of `sources` started and closed at once (nothing listens at its trackers). */
  async function warningsOf (sources: string[], defaultTrackers?: string[]): Promise<string[]> {
    const warnings: string[] = []
    const mirror = await startMirror({ dir: join(await fresh(), 'mirror'), sources, trackers: [], ...(defaultTrackers !== undefined ? { defaultTrackers } : {}), onWarning: (m) => warnings.push(m) })
    await mirror.close()
    return warnings
  }

  // mirror dropped them in silence, where get and seed say so (joinTrackers).
  it('one that is not a tracker URL is left out with a warning, and a fall back to the default trackers is said', async () => {
    expect(await warningsOf([`magnet:?xt=urn:btih:${hash}&tr=ws//127.0.0.1:8000&tr=ws://127.0.0.1:9`])).toEqual([leftOut('ws//127.0.0.1:8000')])
    expect(await warningsOf([`magnet:?xt=urn:btih:${hash}&tr=dht://x`], ['ws://127.0.0.1:9'])).toEqual([
      leftOut('dht://x'),
      'no tracker of the source is usable: asking ws://127.0.0.1:9 instead (--tracker chooses others)'
    ])
    expect(await warningsOf([`magnet:?xt=urn:btih:${hash}&tr=dht://x`])).toEqual([leftOut('dht://x'), 'no tracker of the source is usable, and none is given (--tracker)'])
  })

  // A key's newest record is found in its pointer swarm, over WebRTC only: with a UDP tracker alone mirror waited for
  // it in vain ("finding newest version" for ever), where get, seed and serve refuse the address.
  it('a site key with no WebSocket tracker is refused, as get, seed and serve refuse it', async () => {
    const dir = join(await fresh(), 'mirror')
    oneError(await runCli(['mirror', 'ab'.repeat(32), '--dir', dir, '--tracker', 'udp://127.0.0.1:9', '--no-dht', '--no-tcp'], { env, timeoutMs: 20_000 }),
      /^peersite: error: a site address needs a WebSocket tracker \(ws:\/\/ or wss:\/\/\)/)
    await expect(stat(dir)).rejects.toThrow()
  })
})

describe('peersite mirror: files a killed run left', () => {
  // A mirror killed between writing info.tmp-<pid> (or mirror.json.tmp-<pid>, pointers.json.<pid>.<uuid>.tmp) and
  // renaming it left the file for ever. Its files are now all <name>.<pid>.<uuid>.tmp; an older version's names are
  // still swept.
  it('removes a gone process\'s info, mirror.json and pointers.json temporary files on start, of either name, never a running one\'s', async () => {
    const hash = '0123456789abcdef0123456789abcdef01234567'
    const dir = join(await fresh(), 'mirror')
    const site = join(dir, hash)
    await mkdir(site, { recursive: true })
    const gone = spawnSync(process.execPath, ['-e', '']).pid
    // Another mirror's process, started before its files were written: they are its own.
    const running = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
    await new Promise((resolve) => running.once('spawn', resolve))
    const names = (pid: number): { info: string[], index: string[], pointers: string[] } => ({
      info: [`info.tmp-${pid}`, `info.${pid}.${randomUUID()}.tmp`],
      index: [`mirror.json.tmp-${pid}`, `mirror.json.${pid}.${randomUUID()}.tmp`],
      pointers: [`pointers.json.${pid}.${randomUUID()}.tmp`]
    })
    try {
      const kept = names(running.pid!)
      for (const { info, index, pointers } of [names(gone), kept]) {
        for (const name of info) await writeFile(join(site, name), 'half an info dictionary')
        for (const name of [...index, ...pointers]) await writeFile(join(dir, name), '{"version":1,')
      }
      const mirror = await startMirror({ dir, sources: [hash], trackers: [] })
      await mirror.close()
      expect((await readdir(site)).sort()).toEqual([...kept.info].sort())
      expect((await readdir(dir)).filter((n) => n.startsWith('mirror.json')).sort()).toEqual([...kept.index].sort())
      expect((await readdir(dir)).filter((n) => n.startsWith('pointers.json'))).toEqual(kept.pointers)
    } finally {
      running.kill()
    }
  })
})

describe('peersite mirror: mirror.json', () => {
  /** A mirror folder where each of `count` site keys has a version known from an earlier run (its record and info). */
  async function keyedFolder (count: number): Promise<{ dir: string, keys: string[] }> {
    const dir = join(await fresh(), 'mirror')
    const state = new PointerStateFile(dir)
    const keys: string[] = []
    for (let i = 0; i < count; i++) {
      const key = generateEd25519()
      const { metainfo } = await makeTorrent([{ path: 'index.html', data: randomData(1000, i + 1) }])
      await mkdir(join(dir, metainfo.infoHash), { recursive: true })
      await writeFile(join(dir, metainfo.infoHash, 'info'), metainfo.info)
      await state.save(pointerId(key.publicKey), { seq: 1, record: await signPointer(nodeSigner(key.seed), { infoHash: metainfo.infoHash, seq: 1 }) })
      keys.push(toHex(key.publicKey))
    }
    return { dir, keys }
  }

  /** Starts a mirror of `keys` and closes it once each has its version open and saved. */
  async function mirrorOnce (dir: string, keys: string[]): Promise<string[]> {
    const warnings: string[] = []
    // Nothing listens at the tracker: each key's known record is used at once.
    const mirror = await startMirror({ dir, sources: keys, trackers: ['ws://127.0.0.1:9'], onWarning: (m) => { if (!m.includes('127.0.0.1:9')) warnings.push(m) } })
    const saved = async (): Promise<number> => Object.keys((JSON.parse(await readFile(join(dir, 'mirror.json'), 'utf8').catch(() => '{}')) as { keys?: object }).keys ?? {}).length
    await expect.poll(saved, { timeout: 20_000, interval: 100 }).toBe(keys.length)
    await mirror.close()
    return warnings
  }

  // Keys opened together wrote mirror.json at once through one temporary file: "cannot save mirror.json: ENOENT" on
  // every start with three keys.
  it('is written by one key at a time', async () => {
    const { dir, keys } = await keyedFolder(3)
    expect(await mirrorOnce(dir, keys)).toEqual([])
  })

  // A failed save was said in errno's words, naming mirror.json without its folder: "cannot save mirror.json: EISDIR:
  // illegal operation on a directory, rename '…' -> '…'", and left its temporary file (mirror.json.tmp-<pid>) behind.
  it('one that cannot be saved is warned about in one line naming it and why', async () => {
    const { dir, keys } = await keyedFolder(1)
    const path = join(dir, 'mirror.json')
    await mkdir(path)
    const warnings: string[] = []
    const mirror = await startMirror({ dir, sources: keys, trackers: ['ws://127.0.0.1:9'], onWarning: (m) => { if (!m.includes('127.0.0.1:9')) warnings.push(m) } })
    try {
      const line = `cannot save ${path} (it is a folder): the next run may not reopen the versions of site keys kept now`
      await expect.poll(() => warnings, { timeout: 20_000, interval: 100 }).toContain(line)
      expect(warnings.filter((m) => m !== line)).toEqual([`cannot read ${path} (it is a folder): read as empty, so each site key starts again from its newest version; folders of older versions stay in ${dir}`])
    } finally {
      await mirror.close()
    }
    expect((await readdir(dir)).filter((n) => n.startsWith('mirror.json.'))).toEqual([])
  })

  // pointers.json's warnings went to stderr through warn, past the mirror's warning function (warningPrinter's dedupe).
  it('a damaged pointers.json is warned about through the mirror\'s warning function', async () => {
    const { dir, keys } = await keyedFolder(1)
    await writeFile(join(dir, 'pointers.json'), 'not json')
    const warnings: string[] = []
    const mirror = await startMirror({ dir, sources: keys, trackers: ['ws://127.0.0.1:9'], onWarning: (m) => { if (!m.includes('127.0.0.1:9')) warnings.push(m) } })
    try {
      await expect.poll(() => warnings, { timeout: 20_000, interval: 100 }).toEqual([expect.stringMatching(/pointers\.json is damaged \(not JSON\): moved to /)])
    } finally {
      await mirror.close()
    }
  })

  // A damaged mirror.json was read as empty in silence: older versions were no longer reopened, nor ever removed.
  it('a damaged one is warned about and read as empty', async () => {
    const { dir, keys } = await keyedFolder(1)
    await writeFile(join(dir, 'mirror.json'), '{"version":1,"keys":')
    expect(await mirrorOnce(dir, keys)).toEqual([
      `${join(dir, 'mirror.json')} is damaged (not JSON): read as empty, so each site key starts again from its newest version; folders of older versions stay in ${dir}`
    ])
  })
})

/**
 * A fresh folder holding `site.torrent` for `metainfo` (a site named "site" whose index.html is `data`), with a web seed
 * on this machine that serves it: the server sends index.html whole (200), which a web seed takes as well as a range.
 */
async function webSeeded (metainfo: { info: Uint8Array }, data: Uint8Array): Promise<{ parent: string, torrentPath: string, server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === '/site/index.html') res.end(data)
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const parent = await fresh()
  const torrentPath = join(parent, 'site.torrent')
  const urlList = `http://127.0.0.1:${port}/`
  await writeFile(torrentPath, Buffer.concat([Buffer.from('d4:info'), metainfo.info, Buffer.from(`8:url-listl${urlList.length}:${urlList}ee`)]))
  return { parent, torrentPath, server }
}

describe('peersite mirror: a finished site', () => {
  // A failure to create a finished site's empty files was dropped in silence: the mirror's copy lacked them.
  it('whose empty files cannot be created is warned about in one line naming the file and why', async () => {
    const data = randomData(1000, 3)
    const { metainfo } = await makeTorrent([{ path: 'index.html', data }, { path: 'empty', data: new Uint8Array(0) }])
    // Its files from a web seed on this machine (no peers needed).
    const { parent, torrentPath, server } = await webSeeded(metainfo, data)
    const dir = join(parent, 'mirror')
    // A folder where the empty file goes: it cannot be created.
    const empty = join(dir, metainfo.infoHash, 'files', 'empty')
    await mkdir(join(empty, 'inside'), { recursive: true })
    const warnings: string[] = []
    const mirror = await startMirror({ dir, sources: [torrentPath], trackers: [], onWarning: (m) => warnings.push(m) })
    try {
      await expect.poll(() => warnings, { timeout: 20_000, interval: 100 }).toEqual([`${metainfo.infoHash.slice(0, 8)}: cannot create its empty files: open ${empty}: it is a folder`])
      expect(mirror.sites()[0]!.state()).toBe('seeding')
    } finally {
      await mirror.close()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('peersite mirror: a site whose files cannot be stored', () => {
  // The engine's store error reached the terminal in errno's words: "0123abcd: cannot open …/files/index.html:
  // ENOTDIR: not a directory, open '…/files/index.html'".
  it('is warned about in one line naming the file and why', async () => {
    const data = randomData(1000, 5)
    const { metainfo } = await makeTorrent([{ path: 'index.html', data }])
    // Its file from a web seed on this machine (no peers needed), as for a finished site above.
    const { parent, torrentPath, server } = await webSeeded(metainfo, data)
    const dir = join(parent, 'mirror')
    // A file where the site's files folder goes: nothing can be stored in it.
    const files = join(dir, metainfo.infoHash, 'files')
    await mkdir(join(dir, metainfo.infoHash), { recursive: true })
    await writeFile(files, '')
    const warnings: string[] = []
    const mirror = await startMirror({ dir, sources: [torrentPath], trackers: [], onWarning: (m) => warnings.push(m) })
    try {
      // The file as the site names it, and the folder it goes in (engine/storage/fs.ts).
      const line = `${metainfo.infoHash.slice(0, 8)}: cannot write index.html in ${files}: a part of the path is a file, not a folder`
      await expect.poll(() => warnings, { timeout: 20_000, interval: 100 }).toContain(line)
      expect(warnings.filter((m) => m !== line)).toEqual([])
    } finally {
      await mirror.close()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('peersite mirror: a site complete on disk', () => {
  // 'done' is not emitted for a site whose pieces are all on disk already: an empty file that an earlier run did not
  // make (killed first) or that was removed since was never made again.
  it('gets its empty files on start', async () => {
    const data = randomData(1000, 4)
    const { metainfo } = await makeTorrent([{ path: 'index.html', data }, { path: 'sub/empty', data: new Uint8Array(0) }])
    const parent = await fresh()
    const torrentPath = join(parent, 'site.torrent')
    await writeFile(torrentPath, Buffer.concat([Buffer.from('d4:info'), metainfo.info, Buffer.from('e')]))
    const dir = join(parent, 'mirror')
    const files = join(dir, metainfo.infoHash, 'files')
    await mkdir(files, { recursive: true })
    await writeFile(join(files, 'index.html'), data)
    const warnings: string[] = []
    const mirror = await startMirror({ dir, sources: [torrentPath], trackers: [], onWarning: (m) => warnings.push(m) })
    try {
      expect(mirror.sites()[0]!.state()).toBe('seeding')
      await expect.poll(async () => await stat(join(files, 'sub', 'empty')).then((s) => s.size, () => undefined), { timeout: 20_000, interval: 100 }).toBe(0)
      expect(warnings).toEqual([])
    } finally {
      await mirror.close()
    }
  })
})

describe('peersite mirror: status lines', () => {
  // A key whose first record is not known yet is shown by its source as given, which was printed raw every few
  // seconds: an escape sequence in an argument (a list of sources read by a script) reached the terminal.
  it('show a source as given with its control characters as \\xNN', () => {
    const source = `magnet:?xs=urn:btpk:${'ab'.repeat(32)}&dn=\x1b]0;title\x07`
    const site: MirroredSite = { source, infoHash: '', torrent: undefined, resumed: 0, state: () => 'finding newest version', stats: () => undefined }
    expect(mirrorStatusLine(site)).toBe(`magnet:?xs=urn:btpk:${'ab'.repeat(32)}&dn=\\x1b]0;title\\x07: finding newest version`)
  })

  // A padded site's metainfo.length counts its BEP 47 pad files, which are neither fetched nor written: the line said
  // "of 61.5 kB" where get's result line says "58.3 kB" for the same site.
  it('give the site\'s size as its files\' bytes, without BEP 47 padding', () => {
    const metainfo = { name: 'site', length: 65536, files: [{ path: 'a.html', length: 30000 }, { path: 'b.html', length: 20000 }] }
    const stats = { peers: 1, uploaded: 0, downloaded: 65536, uploadRate: 0, downloadRate: 0, verified: 65536, length: 65536, webSeed: 0 }
    const site = { source: 'x', infoHash: 'ab'.repeat(20), torrent: { metainfo }, resumed: 0, state: () => 'seeding', stats: () => stats } as unknown as MirroredSite
    expect(mirrorStatusLine(site)).toMatch(new RegExp(`^${'ab'.repeat(20)} site: seeding 100% of 50\\.0 kB: 1 peer`))
  })

  it('say that a site whose metadata has not come is fetching it (before: "<infohash>: metadata")', () => {
    const site: MirroredSite = { source: 'x', infoHash: 'ab'.repeat(20), torrent: undefined, resumed: 0, state: () => 'metadata', stats: () => undefined }
    expect(mirrorStatusLine(site)).toBe(`${'ab'.repeat(20)}: fetching metadata from peers`)
  })
})
