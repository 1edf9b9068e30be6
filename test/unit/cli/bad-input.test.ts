/**
 * Bad input found by trying the CLI as a hostile or careless user would: each is one line `peersite: error: ...`
 * naming the problem, a non-zero exit, nothing on stdout, nothing left behind; and a .torrent written by another
 * client with its info keys out of order gives the infohash other clients compute.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { cp, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseTorrentBytes } from '../../../cli/lib/torrent.js'
import { describeSystemError, errorInWords, systemErrorLine } from '../../../cli/lib/system-errors.js'
import { joinNegativeValues } from '../../../cli/main.js'
import { escapeName } from '../../../cli/lib/walk.js'
import { DEFAULT_TRACKERS, joinTrackers } from '../../../cli/lib/trackers.js'
import { StorageError, UsageError } from '../../../engine/errors.js'
import { bencode, rawDictValue } from '../../../engine/util/bencode.js'
import { cliPath, cliSandbox, copyHello, runCli, type RunResult } from './helpers.js'

const sandbox = cliSandbox('peersite-bad-input-')
const { env, fresh } = sandbox

function expectOneError (result: RunResult, pattern: RegExp, code = 1): void {
  expect(result.stdout).toBe('')
  const lines = result.stderr.split('\n').filter((l) => l !== '' && !/^(getting|fetching) /.test(l))
  expect(lines, result.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^peersite: error: /)
  expect(lines[0]).toMatch(pattern)
  // No errno jargon: the code, the system call or a stack trace.
  expect(lines[0]).not.toMatch(/\bE[A-Z]{3,}\b|getaddrinfo|mkdtemp|\n\s+at /)
  expect(result.code).toBe(code)
}

const sha1hex = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex')
const HASH = '0123456789abcdef0123456789abcdef01234567'
/** Nothing listens there: a get that reached the network would only time out. */
const DEAD_TRACKER = 'ws://127.0.0.1:9'

/** A .torrent of one 1-byte file at `path` (components), bencoded by hand. */
function torrentWithPath (path: string[]): Uint8Array {
  const info = { files: [{ length: 1, path }], name: 'site', 'piece length': 16384, pieces: createHash('sha1').update('x').digest() }
  return bencode({ info })
}

describe('command-line values', () => {
  it('--piece-length -16KiB names the range, not five unknown flags', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    expectOneError(await runCli(['publish', site, '--piece-length', '-16KiB', '--no-seed'], { env }), /invalid --piece-length "-16KiB": must be a power of two/, 2)
    expectOneError(await runCli(['publish', site, '--piece-length=-16KiB', '--no-seed'], { env }), /invalid --piece-length "-16KiB": must be a power of two/, 2)
    expect((await readdir(dir)).sort()).toEqual(['hello'])
    expect(joinNegativeValues(['--a', '-1', '-h', '--b', 'x', '--c', '-x'])).toEqual(['--a=-1', '-h', '--b', 'x', '--c', '-x'])
  })

  it('an option that takes one value, given twice, is a usage error naming it (nothing written, nothing listening)', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    const cases: Array<[string[], string]> = [
      [['publish', site, '--out', join(dir, 'a'), '--out', join(dir, 'b'), '--no-seed'], 'out'],
      [['publish', site, '--key', join(dir, 'k1'), '--key', join(dir, 'k2'), '--no-seed'], 'key'],
      [['publish', site, '--port', '1', '--port', '2', '--local', '--no-seed'], 'port'],
      [['get', HASH, '--out', join(dir, 'a'), '--out', join(dir, 'b'), '--tracker', DEAD_TRACKER], 'out'],
      [['seed', site, '--path', site, '--path', site, '--no-dht', '--no-tcp'], 'path'],
      [['mirror', HASH, '--dir', join(dir, 'a'), '--dir', join(dir, 'b')], 'dir'],
      [['serve', HASH, '--ice-servers', 'none', '--ice-servers', 'none'], 'ice-servers'],
      [['tracker', '--host', '127.0.0.1', '--host', '127.0.0.2', '--port', '0'], 'host'],
      [['gateway', '--host', '127.0.0.1', '--host', '127.0.0.2', '--port', '0'], 'host']
    ]
    for (const [args, name] of cases) {
      expectOneError(await runCli(args, { env, timeoutMs: 20_000 }), new RegExp(`^peersite: error: --${name} was given twice \\(see peersite ${args[0]!} --help\\)$`), 2)
    }
    expect((await readdir(dir)).sort()).toEqual(['hello'])
  }, 120_000)

  it('an empty --host is refused by every command that listens (it would listen on every interface)', async () => {
    for (const command of ['tracker', 'gateway', 'serve']) {
      for (const host of ['', ' ']) {
        const args = [command, ...(command === 'serve' ? [HASH] : []), '--host', host, '--port', '0']
        expectOneError(await runCli(args, { env, timeoutMs: 20_000 }), /^peersite: error: --host needs an address$/, 2)
      }
    }
  }, 120_000)

  it('a number option given a word quotes what was typed, not "NaN"; given nothing, needs a number', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    const cases: Array<[string[], RegExp]> = [
      [['tracker', '--port', 'abc'], /^peersite: error: invalid --port "abc": expected a number$/],
      [['publish', site, '--local', '--port=8o8o', '--no-seed'], /^peersite: error: invalid --port "8o8o": expected a number$/],
      [['seed', site, '--peer-port', 'abc', '--no-dht', '--no-tcp'], /^peersite: error: invalid --peer-port "abc": expected a number$/],
      [['get', HASH, '--out', join(dir, 'copy'), '--timeout', 'soon', '--tracker', DEAD_TRACKER], /^peersite: error: invalid --timeout "soon": expected a number$/],
      [['mirror', HASH, '--dir', join(dir, 'm'), '--keep', 'all'], /^peersite: error: invalid --keep "all": expected a number$/],
      [['mirror', HASH, '--dir', join(dir, 'm'), '--status-interval', '5s'], /^peersite: error: invalid --status-interval "5s": expected a number$/],
      [['gateway', '--port', ''], /^peersite: error: --port needs a number$/],
      [['tracker', '--port=', '--host', '127.0.0.1'], /^peersite: error: --port needs a number$/]
    ]
    for (const [args, pattern] of cases) expectOneError(await runCli(args, { env, timeoutMs: 20_000 }), pattern, 2)
    expect((await readdir(dir)).sort()).toEqual(['hello'])
  }, 120_000)

  // As `publish "$SITE"` with SITE unset: "" resolved to the current folder, which publish published and loader wrote
  // into; seed and --key named "" in puzzling lines ("does not exist", "key file  exists and is not a file").
  it('an empty argument or path option is a usage error naming it, with nothing written', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    const cases: Array<[string[], string]> = [
      [['publish', '', '--no-seed'], 'publish: the <dir> argument is empty'],
      [['publish', '-', '--no-seed'], 'publish: the <dir> argument is empty \\(a lone "-" is not read as a name: write \\./- for a file or folder named "-"\\)'],
      [['publish', site, '--out', '', '--no-seed'], '--out needs a folder'],
      [['publish', site, '--key', '', '--no-seed'], '--key needs a file'],
      [['publish', site, '--web-seed', 'https://example.org/', '--web-seed', '', '--no-seed'], '--web-seed needs a URL'],
      [['seed', '', '--tracker', DEAD_TRACKER], 'seed: the <target> argument is empty'],
      [['seed', site, '--path', '', '--tracker', DEAD_TRACKER], '--path needs a folder'],
      [['get', '', '--out', join(dir, 'copy'), '--tracker', DEAD_TRACKER], 'get: the <source> argument is empty'],
      [['get', HASH, '--out', '', '--tracker', DEAD_TRACKER], '--out needs a folder'],
      [['serve', '', '--tracker', DEAD_TRACKER], 'serve: the <source> argument is empty'],
      [['mirror', HASH, '', '--dir', join(dir, 'm'), '--tracker', DEAD_TRACKER], 'mirror: the <sites> argument is empty'],
      [['mirror', HASH, '--dir', '', '--tracker', DEAD_TRACKER], '--dir needs a folder'],
      [['loader', '--out', '', '--tracker', DEAD_TRACKER], '--out needs a folder']
    ]
    for (const [args, line] of cases) expectOneError(await runCli(args, { env, cwd: dir }), new RegExp(`^peersite: error: ${line}$`), 2)
    expect((await readdir(dir)).sort()).toEqual(['hello'])
  })

  // Only "" is empty: " " is a name a folder may have (it was refused as empty, as "" is).
  it('a folder named " " is published; "-" named as ./- too', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    await cp(site, join(dir, ' '), { recursive: true })
    await cp(site, join(dir, '-'), { recursive: true })
    for (const name of [' ', './-']) {
      const result = await runCli(['publish', name, '--no-seed'], { env, cwd: dir })
      expect(result.code, result.stderr).toBe(0)
    }
    expect((await readdir(dir)).sort()).toEqual([' ', ' -peersite', '-', '--peersite', 'hello'])
  })

  it('a site of one file is "1 file" in publish\'s result line', async () => {
    const dir = await fresh()
    await mkdir(join(dir, 'one'))
    await writeFile(join(dir, 'one', 'index.html'), '<h1>one</h1>\n')
    const result = await runCli(['publish', 'one', '--no-seed'], { env, cwd: dir })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/published one: 1 file, /)
  })

  it('--timeout beyond the longest timer Node has', async () => {
    const dir = await fresh()
    const result = await runCli(['get', HASH, '--out', join(dir, 'copy'), '--timeout', '1e10', '--tracker', DEAD_TRACKER])
    expectOneError(result, /invalid --timeout "10000000000": at most 2147483 seconds/, 2)
    expect(result.stderr).not.toMatch(/TimeoutOverflowWarning/)
    expect(await readdir(dir)).toEqual([])
  })

  // mirror's status line was printed every millisecond (Node's warning, then thousands of lines a second).
  it('--status-interval beyond the longest timer Node has', async () => {
    const dir = await fresh()
    const result = await runCli(['mirror', HASH, '--dir', join(dir, 'm'), '--status-interval', '1e10', '--tracker', DEAD_TRACKER, '--no-dht'], { timeoutMs: 10_000 })
    expectOneError(result, /invalid --status-interval "10000000000": at most 2147483 seconds/, 2)
    expect(await readdir(dir)).toEqual([])
  })
})

describe('system errors in words', () => {
  it('a TMPDIR that does not exist (serve)', async () => {
    const result = await runCli(['serve', HASH, '--port', '0', '--tracker', DEAD_TRACKER], { env: { TMPDIR: join(sandbox.path, 'no-such-dir') } })
    expectOneError(result, /cannot create a temporary folder in .*no-such-dir \(TMPDIR\): it does not exist/)
  })

  it('a host name that does not resolve, and the last resort for any system error', () => {
    // Synthesized: a real lookup would send a DNS query off this machine (tests never do).
    const lookup = Object.assign(new Error('getaddrinfo EAI_AGAIN no-such-host'), { code: 'EAI_AGAIN', syscall: 'getaddrinfo', hostname: 'no-such-host' })
    expect((describeSystemError(lookup, 'listen on no-such-host') as Error).message).toBe('cannot listen on no-such-host: the host name cannot be resolved (no DNS answer)')
    expect(systemErrorLine(lookup)).toBe('looking up no-such-host: the host name cannot be resolved (no DNS answer)')
    const mkdtemp = Object.assign(new Error("ENOENT: no such file or directory, mkdtemp '/x/peersite-serve-XXXXXX'"), { code: 'ENOENT', syscall: 'mkdtemp', path: '/x/peersite-serve-XXXXXX' })
    expect(systemErrorLine(mkdtemp)).toBe('mkdtemp /x/peersite-serve-XXXXXX: it does not exist')
    // Our own errors are not system errors, whatever their code looks like.
    expect(systemErrorLine(new UsageError('x'))).toBeUndefined()
    expect(describeSystemError(new UsageError('x'), 'y')).toBeInstanceOf(UsageError)
  })

  // mirror passed the engine's errors on as they came: "cannot open /m/files/a: EISDIR: illegal operation on a
  // directory, open '/m/files/a'", and a write's "ENOSPC: no space left on device, write".
  it('errorInWords: a bare system error, one an error wraps and quotes, through every wrapper; others as they are', () => {
    const write = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' })
    expect(errorInWords(write)).toBe('write: no space left on the device')
    const open = Object.assign(new Error("EISDIR: illegal operation on a directory, open '/m/files/a'"), { code: 'EISDIR', syscall: 'open', path: '/m/files/a' })
    const store = new StorageError(`cannot open /m/files/a: ${open.message}`, 'ERR_STORAGE', { cause: open })
    expect(errorInWords(store)).toBe('cannot open /m/files/a: it is a folder')
    expect(errorInWords(new Error(`peer 0a1b: ${store.message}`, { cause: store }))).toBe('peer 0a1b: cannot open /m/files/a: it is a folder')
    // A cause its message does not quote: the message as it is.
    expect(errorInWords(new StorageError('the store is closed', 'ERR_CLOSED', { cause: open }))).toBe('the store is closed')
    expect(errorInWords(new UsageError('x'))).toBe('x')
    expect(errorInWords('text')).toBe('text')
  })
})

describe('--out', () => {
  it('a symbolic link is refused (get and publish), to a folder or dangling', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    await mkdir(join(dir, 'real'))
    await symlink(join(dir, 'real'), join(dir, 'link'))
    await symlink(join(dir, 'nowhere'), join(dir, 'dangling'))
    for (const out of ['link', 'dangling']) {
      expectOneError(await runCli(['get', HASH, '--out', join(dir, out), '--tracker', DEAD_TRACKER]), /is a symbolic link/)
      expectOneError(await runCli(['publish', site, '--out', join(dir, out), '--no-seed'], { env }), /is a symbolic link/)
    }
    expect((await readdir(dir)).sort()).toEqual(['dangling', 'hello', 'link', 'real'])
    expect(await readdir(join(dir, 'real'))).toEqual([])
  })
})

describe('publish: entries of the site folder that cannot be published', () => {
  it('a file name that is not UTF-8 is named, escaped, with exit 1 and nothing written (not "does not exist")', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    // Linux allows any bytes in a name: 0xff is never UTF-8. Made through a Buffer path, as a string cannot say it.
    writeFileSync(Buffer.concat([Buffer.from(join(site, 'docs', 'caf')), Buffer.from([0xe9, 0xff]), Buffer.from('é.html')]), 'x')
    expectOneError(await runCli(['publish', site, '--no-seed'], { env }), /^peersite: error: file name is not valid UTF-8: docs\/caf\\xe9\\xffé\.html \(a torrent's paths are UTF-8: rename it\)$/)
    expect((await readdir(dir)).sort()).toEqual(['hello'])
    expect(escapeName(Buffer.from([0x61, 0xc3, 0xa9, 0x0a, 0x80]))).toBe('aé\\x0a\\x80')
  })
})

describe('publish: symbolic links that lead nowhere', () => {
  // Links that lead to each other were called broken, which sent the user looking for a missing target.
  it('a link to itself, or two links to each other, are a loop; a dangling one is broken', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    await symlink('self', join(site, 'self'))
    expectOneError(await runCli(['publish', site, '--no-seed'], { env }), /^peersite: error: symlink loop at self$/)
    await rm(join(site, 'self'))
    await symlink('b', join(site, 'a'))
    await symlink('a', join(site, 'b'))
    expectOneError(await runCli(['publish', site, '--no-seed'], { env }), /^peersite: error: symlink loop at (a|b)$/)
    await rm(join(site, 'a'))
    expectOneError(await runCli(['publish', site, '--no-seed'], { env }), /^peersite: error: cannot read b: broken symlink$/)
    expect((await readdir(dir)).sort()).toEqual(['hello'])
  })
})

describe('arguments that are not UTF-8', () => {
  // Node reads them with U+FFFD for the bad bytes: the folder "did not exist", and --out made "out\ufffd" (another
  // name than the one typed). Linux only: there /proc/self/cmdline has the bytes (no other platform runs the tests).
  it('are refused, naming the bad bytes, with nothing written; a name that holds U+FFFD itself is published', async () => {
    const dir = await fresh()
    await copyHello(dir)
    writeFileSync(Buffer.concat([Buffer.from(join(dir, 'caf')), Buffer.from([0xe9])]), '')
    const main = await cliPath()
    // A child process takes its arguments as strings (UTF-8): bash passes the bytes as typed.
    const run = (args: string): RunResult => {
      const r = spawnSync('bash', ['-c', `exec "${process.execPath}" "${main}" ${args}`], { cwd: dir, env: { ...process.env, ...env, PEERSITE_DEBUG: '' }, encoding: 'utf8' })
      return { code: r.status, stdout: r.stdout, stderr: r.stderr }
    }
    expectOneError(run("publish $'caf\\xe9' --no-seed"), /^peersite: error: argument caf\\xe9 is not UTF-8: peersite reads its arguments as UTF-8 \(rename the file or folder\)$/, 2)
    expectOneError(run("publish hello --out $'out\\xff' --no-seed"), /^peersite: error: argument out\\xff is not UTF-8/, 2)
    expect((await readdir(dir)).sort()).toEqual(['caf\ufffd', 'hello'])
    await cp(join(dir, 'hello'), join(dir, 'ok\ufffd'), { recursive: true })
    expect(run("publish $'ok\\xef\\xbf\\xbd' --no-seed").code).toBe(0)
    expect((await readdir(dir)).sort()).toEqual(['caf\ufffd', 'hello', 'ok\ufffd', 'ok\ufffd-peersite'])
  })
})

describe('folders a file system will not make', () => {
  // procfs answers ENOENT to mkdir though the parent is there: Node's recursive mkdir retried that for ever, and
  // `loader --out /proc/x` never returned. Each is one line at once (a hang is killed after 20 s: then no code).
  it('a folder under /proc fails at once with one line (loader, publish, get, mirror, the state folder)', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    // The generic loader's files, as stand-ins (beside the per-site ones the sandbox has).
    await mkdir(join(sandbox.loaderDir, 'gateway'), { recursive: true })
    for (const name of ['index.html', 'peersite.js', 'sw.js']) await writeFile(join(sandbox.loaderDir, 'gateway', name), `/* fake ${name} */\n`)
    const refused = /cannot create (--out |the output folder )?\/proc\/peersite-test: the file system of \/proc does not allow new folders$/
    const cases: string[][] = [
      ['loader', '--out', '/proc/peersite-test'],
      ['loader', '--out', '/proc/peersite-test/site'],
      ['publish', site, '--out', '/proc/peersite-test/out', '--no-seed'],
      // Directly under /proc: the staging folder beside the output is the first folder made (said as the output's).
      ['publish', site, '--out', '/proc/peersite-test', '--no-seed'],
      ['get', HASH, '--out', '/proc/peersite-test/copy', '--tracker', DEAD_TRACKER, '--no-dht', '--no-tcp'],
      ['get', HASH, '--out', '/proc/peersite-test', '--tracker', DEAD_TRACKER, '--no-dht', '--no-tcp'],
      ['mirror', HASH, '--dir', '/proc/peersite-test', '--tracker', DEAD_TRACKER, '--no-dht', '--no-tcp']
    ]
    for (const args of cases) expectOneError(await runCli(args, { env, timeoutMs: 20_000 }), refused)
    const state = await runCli(['publish', site, '--out', join(dir, 'out'), '--key', join(dir, 'k.key'), '--no-seed'], { env: { ...env, PEERSITE_STATE_DIR: '/proc/peersite-test' }, timeoutMs: 20_000 })
    expectOneError(state, refused)
    // No output; the new key is whole (and kept: the next publish uses it).
    expect((await readdir(dir)).sort()).toEqual(['hello', 'k.key'])
  }, 150_000)
})

describe('publish --key: a key file that cannot be created', () => {
  // It said "key file /proc/k.key does not exist", which is why it was to be created.
  it('names the file system that refuses it, with nothing written', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    expectOneError(await runCli(['publish', site, '--key', '/proc/peersite-test.key', '--no-seed'], { env }),
      /^peersite: error: cannot create key file \/proc\/peersite-test\.key: the file system of \/proc does not allow new files$/)
    expect(await readdir(dir)).toEqual(['hello'])
  })
})

describe('peersite get: names the file system refuses', () => {
  for (const [what, path] of [
    ['a 300-byte file name', ['a'.repeat(300)]],
    ['a 3000-level path', [...Array<string>(3000).fill('d'), 'f']]
  ] as const) {
    it(`${what} is an error at once, naming it, with nothing left behind`, async () => {
      const dir = await fresh()
      await writeFile(join(dir, 'bad.torrent'), torrentWithPath([...path]))
      // No --timeout: a download that waited for the file system would hang until the test's kill.
      const result = await runCli(['get', join(dir, 'bad.torrent'), '--out', join(dir, 'copy'), '--tracker', DEAD_TRACKER], { timeoutMs: 20_000 })
      expectOneError(result, /cannot write .* into .*copy: the name is longer than the file system allows/)
      expect(await readdir(dir)).toEqual(['bad.torrent'])
    })
  }
})

describe('peersite get: staging folders of a killed run', () => {
  it('are removed by the next run for the same --out; a running one\'s is kept', async () => {
    const dir = await fresh()
    // The pid of a process that has exited: its staging folder is an orphan.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid
    const orphan = `.copy.peersite-partial-${dead}-AbC123`
    const live = `.copy.peersite-partial-${process.pid}-XyZ789`
    await mkdir(join(dir, orphan, 'docs'), { recursive: true })
    await writeFile(join(dir, orphan, 'docs', 'half.bin'), 'half')
    await mkdir(join(dir, live))
    const result = await runCli(['get', HASH, '--out', join(dir, 'copy'), '--tracker', DEAD_TRACKER, '--timeout', '1'])
    expect(result.code).toBe(1)
    expect((await readdir(dir)).sort()).toEqual([live])
  })
})

describe('infohash of a .torrent whose info keys are out of order', () => {
  it('is the SHA-1 of the info bytes as written, as other clients compute it', async () => {
    const pieces = createHash('sha1').update('x').digest()
    // Keys in reverse order (bencoding wants them sorted); a client that re-encodes would hash other bytes.
    const info = Buffer.concat([
      Buffer.from('d6:pieces20:'), pieces, Buffer.from('12:piece lengthi16384e4:name4:site6:lengthi1ee')
    ])
    const torrent = Buffer.concat([Buffer.from('d8:announce14:ws://t.invalid4:info'), info, Buffer.from('e')])
    expect(Buffer.from(rawDictValue(torrent, 'info')!).equals(info)).toBe(true)
    const { metainfo } = await parseTorrentBytes(torrent, 'reversed.torrent')
    expect(metainfo.infoHash).toBe(sha1hex(info))
    expect(Buffer.from(metainfo.info).equals(info)).toBe(true)
    // The canonical re-encoding would have given another hash: the test means something.
    expect(sha1hex(bencode({ length: 1, name: 'site', 'piece length': 16384, pieces }))).not.toBe(sha1hex(info))
  })
})

describe('text from elsewhere reaches the terminal as one line, its control characters escaped', () => {
  // A tracker's failure reason is printed as a warning: raw, its escape sequences recoloured, retitled or cleared the
  // user's terminal, and a newline started a line of its own.
  it('a tracker\'s failure reason with escape sequences and a newline', async () => {
    const reason = Buffer.from('bad\x1b[2J\x1b]0;title\x07\nSECOND\rLINE')
    const answer = Buffer.concat([Buffer.from(`d14:failure reason${reason.length}:`), reason, Buffer.from('e')])
    const server = createServer((_req, res) => { res.end(answer) })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const dir = await fresh()
      const tracker = `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`
      const result = await runCli(['get', HASH, '--out', join(dir, 'copy'), '--tracker', tracker, '--no-dht', '--timeout', '2'])
      expect(result.code).toBe(1)
      expect(result.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f]/)
      const warning = result.stderr.split('\n').filter((l) => l.startsWith('peersite: warning: '))
      expect(warning).toEqual([`peersite: warning: tracker ${tracker}: bad\\x1b[2J\\x1b]0;title\\x07\\x0aSECOND\\x0dLINE`])
    } finally {
      server.close()
    }
  })

  it('a torrent\'s name with an escape sequence', async () => {
    const dir = await fresh()
    const info = { length: 1, name: 'site\x1b[2J', 'piece length': 16384, pieces: createHash('sha1').update('x').digest() }
    await writeFile(join(dir, 'esc.torrent'), bencode({ info }))
    const result = await runCli(['get', join(dir, 'esc.torrent'), '--out', join(dir, 'copy'), '--tracker', DEAD_TRACKER, '--no-dht', '--no-tcp', '--timeout', '1'])
    expect(result.code).toBe(1)
    expect(result.stderr).not.toContain('\x1b')
    expect(result.stderr).toContain('getting site\\x1b[2J from ')
  })

  // A magnet's tr= is percent-decoded, and an escape sequence in its path still makes a valid tracker URL: get printed
  // it raw in its "getting ... from <trackers>" line (seed and serve in their "trackers:" line).
  it('a magnet\'s tracker with an escape sequence in its path', async () => {
    const dir = await fresh()
    const tracker = 'ws://127.0.0.1:9/\x1b]0;title\x07'
    const magnet = `magnet:?xt=urn:btih:${HASH}&tr=${encodeURIComponent(tracker)}`
    const result = await runCli(['get', magnet, '--out', join(dir, 'copy'), '--no-dht', '--no-tcp', '--timeout', '1'])
    expect(result.code).toBe(1)
    expect(result.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f]/)
    expect(result.stderr).toContain('from ws://127.0.0.1:9/\\x1b]0;title\\x07 (')
  })

  it('a published file name with a newline is warned about in one line', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    await writeFile(join(site, 'new\nline.txt'), 'x')
    const result = await runCli(['publish', site, '--out', join(dir, 'out'), '--no-seed'], { env })
    expect(result.code).toBe(0)
    const lines = result.stderr.split('\n').filter((l) => l !== '')
    expect(lines).toHaveLength(1)
    // The newline as \x0a, not a space: "new\nline.txt" is told from "new line.txt".
    expect(lines[0]).toMatch(/^peersite: warning: new\\x0aline\.txt: "new\\nline\.txt" holds "\\n", which is not allowed in a file name on Windows/)
  })
})

describe('peersite seed <site address>', () => {
  // The folder the versions go into was first used when a version arrived: seed waited for one, then failed to
  // write each with a warning, and ran on.
  it('refuses a --path that is a file at once', async () => {
    const dir = await fresh()
    await writeFile(join(dir, 'file'), 'x')
    const address = `magnet:?xs=urn:btpk:${'ab'.repeat(32)}`
    const result = await runCli(['seed', address, '--path', join(dir, 'file'), '--tracker', DEAD_TRACKER, '--no-dht', '--no-tcp'], { timeoutMs: 20_000 })
    expectOneError(result, /^peersite: error: --path .*file is not a folder: the versions are downloaded into it$/)
    expect(await readdir(dir)).toEqual(['file'])
  })
})

describe('peersite seed: an output folder whose peersite.json is damaged', () => {
  /** Runs the CLI until its stderr has `text`, then sends SIGINT; resolves with the exit code and stderr. */
  async function runUntil (args: string[], text: string): Promise<{ code: number | null, stderr: string }> {
    const child = spawn(process.execPath, [await cliPath(), ...args], { env: { ...process.env, PEERSITE_DEBUG: '' }, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
      if (stderr.includes(text)) child.kill('SIGINT')
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    clearTimeout(timer)
    return { code, stderr }
  }

  // A keyed site's address is announced from its peersite.json: a truncated one was skipped in silence (the
  // address went unannounced), and "null" ended seed with "Cannot read properties of null".
  it('is seeded all the same, with a warning that a site key\'s record is not announced', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    const out = join(dir, 'hello-peersite')
    expect((await runCli(['publish', site, '--no-seed', '--tracker', DEAD_TRACKER], { env })).code).toBe(0)
    const manifest = join(out, 'peersite.json')
    for (const [content, problem] of [['{"address":', 'is not JSON'], ['null', 'is not a JSON object']] as const) {
      await writeFile(manifest, content)
      // The status line: seed is seeding, and stops on SIGINT.
      const result = await runUntil(['seed', out, '--tracker', DEAD_TRACKER, '--no-dht', '--no-tcp'], 'seeding hello: ')
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).toContain(`peersite: warning: ${manifest} ${problem}: a site key's record in it is not announced\n`)
    }
  }, 60_000)
})

describe('trackers a magnet lists', () => {
  // An invalid tr= was dropped in silence; when it was the only one, the public trackers were used in silence too.
  it('one that is not a tracker URL is left out with a warning, and a fall back to the public trackers is said', async () => {
    const warnings: string[] = []
    expect(joinTrackers([DEAD_TRACKER], ['ws//127.0.0.1:8000', 'ws://127.0.0.1:8000', 'ws//127.0.0.1:8000'], (m) => warnings.push(m))).toEqual([DEAD_TRACKER, 'ws://127.0.0.1:8000'])
    expect(warnings).toEqual(['tracker "ws//127.0.0.1:8000" of the source is not a ws://, wss://, http://, https:// or udp:// URL: left out'])
    warnings.length = 0
    expect(joinTrackers([], ['dht://x'], (m) => warnings.push(m))).toEqual([...DEFAULT_TRACKERS])
    expect(warnings).toEqual([
      'tracker "dht://x" of the source is not a ws://, wss://, http://, https:// or udp:// URL: left out',
      'no tracker of the source is usable: asking the public trackers instead (--tracker chooses others)'
    ])
    warnings.length = 0
    expect(joinTrackers([], [], (m) => warnings.push(m))).toEqual([...DEFAULT_TRACKERS])
    expect(warnings).toEqual([])

    const dir = await fresh()
    const magnet = `magnet:?xt=urn:btih:${HASH}&tr=ws//127.0.0.1:8000`
    const result = await runCli(['get', magnet, '--out', join(dir, 'copy'), '--tracker', DEAD_TRACKER, '--no-dht', '--no-tcp', '--timeout', '1'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('peersite: warning: tracker "ws//127.0.0.1:8000" of the source is not a ws://, wss://, http://, https:// or udp:// URL: left out\n')
    expect(await readdir(dir)).toEqual([])
  })

  // The pointer swarm is WebRTC only: with a UDP tracker alone, seed and get waited for a record that could not come.
  it('a site address with no WebSocket tracker is refused by get, seed and serve', async () => {
    const dir = await fresh()
    const address = `magnet:?xs=urn:btpk:${'ab'.repeat(32)}`
    const line = /^peersite: error: a site address needs a WebSocket tracker \(ws:\/\/ or wss:\/\/\)/
    const net = ['--tracker', 'udp://127.0.0.1:9', '--no-dht', '--no-tcp']
    expectOneError(await runCli(['seed', address, '--path', join(dir, 's'), ...net], { timeoutMs: 20_000 }), line, 2)
    expectOneError(await runCli(['get', address, '--out', join(dir, 'g'), ...net, '--timeout', '5']), line, 2)
    expectOneError(await runCli(['serve', address, '--port', '0', ...net], { timeoutMs: 20_000 }), line, 2)
    expect(await readdir(dir)).toEqual([])
  })
})

describe('peersite mirror: a tracker that keeps failing', () => {
  // Each retry printed the same warning again (four in 20 s), where get prints it once.
  it('is warned about once', async () => {
    let attempts = 0
    let third: () => void = () => {}
    const thirdSeen = new Promise<void>((resolve) => { third = resolve })
    // A WebSocket tracker that hangs up on every connection: each retry fails alike.
    const server = createNetServer((socket) => {
      socket.destroy()
      if (++attempts === 3) third()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const dir = await fresh()
      const tracker = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
      const child = spawn(process.execPath, [await cliPath(), 'mirror', HASH, '--dir', join(dir, 'm'), '--tracker', tracker, '--no-dht', '--no-tcp'], { env: { ...process.env, PEERSITE_DEBUG: '' }, stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
      await thirdSeen
      // Time for the third failure to be warned about (or not) before the process reads its signal.
      await new Promise((resolve) => setTimeout(resolve, 500))
      child.kill('SIGINT')
      await exited
      const warnings = stderr.split('\n').filter((l) => l.startsWith('peersite: warning: ') && l.includes(tracker))
      expect(warnings, stderr).toHaveLength(1)
    } finally {
      server.close()
    }
  }, 90_000)
})
