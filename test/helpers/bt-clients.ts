/**
 * Ordinary BitTorrent clients from Debian packages (aria2, transmission-cli) and peersite's own CLI as child
 * processes, for the interoperability tests over TCP. Everything stays on 127.0.0.1: DHT, local peer discovery and
 * PEX are off in the real clients, so they talk only to the tracker and the peers the tests start.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { cliPath } from '../unit/cli/helpers.js'

export interface Proc {
  readonly child: ChildProcess
  output (): string
  /** Resolves with the exit code once it exits. */
  readonly exited: Promise<number | null>
  /** SIGINT (then SIGKILL after 5 s); safe to call twice. */
  stop (): Promise<number | null>
}

export function startProc (cmd: string, args: string[], opts: { cwd?: string } = {}): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}) })
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { output += d })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { output += d })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.once('error', (err) => { output += `\n${String(err)}` })
  return {
    child,
    output: () => output,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      return await exited
    }
  }
}

/** Waits until the process's output matches `re` (or it exits, or `timeoutMs` passes: rejects with its output). */
export async function waitForOutput (proc: Proc, re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const started = Date.now()
  for (;;) {
    const m = re.exec(proc.output())
    if (m !== null) return m
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new Error(`exited (${proc.child.exitCode}) before ${re}: ${proc.output()}`)
    if (Date.now() - started > timeoutMs) throw new Error(`no ${re} within ${timeoutMs} ms: ${proc.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** `peersite <args>` from source (the bundled CLI). */
export async function startPeersite (args: string[]): Promise<Proc> {
  return startProc(process.execPath, [await cliPath(), ...args])
}

/** `peersite tracker --port 0` (on 127.0.0.1 unless `host`): its three URLs (WebSocket, HTTP announce, UDP) on one port. */
export async function startTrackerProcess (host = '127.0.0.1'): Promise<{ proc: Proc, ws: string, http: string, udp: string }> {
  const proc = await startPeersite(['tracker', '--port', '0', '--host', host])
  const m = await waitForOutput(proc, /^(ws:\/\/\S+)\n(http:\/\/\S+)\n(udp:\/\/\S+)\n/m)
  return { proc, ws: m[1]!, http: m[2]!, udp: m[3]! }
}

/** aria2c with everything but trackers and direct peers off; `args` add the mode (download or seed). */
export function aria2c (args: string[], cwd?: string): Proc {
  return startProc('aria2c', [
    '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false',
    '--disable-ipv6=true', '--console-log-level=notice', '--summary-interval=0', '--check-certificate=false',
    '--bt-tracker-connect-timeout=5', '--bt-tracker-timeout=10', ...args
  ], cwd !== undefined ? { cwd } : {})
}

/**
 * Writes the zero-filled BEP 47 pad files (`attr` containing `p`) that `torrentFile` lists, under `dir`/<name>/, so
 * a client that knows no BEP 47 (aria2c, Transmission) finds every file of a padded peersite site on disk and its
 * hash check passes: the pad files are part of the torrent's byte stream, zeros in the piece hashes. Returns how
 * many it wrote (none for an unpadded torrent).
 */
export async function writePadFiles (torrentFile: string, dir: string): Promise<number> {
  const { bdecode, isBytes, isDict, isInt } = await import('../../engine/util/bencode.js')
  const torrent = bdecode(new Uint8Array(await readFile(torrentFile)))
  const info = isDict(torrent) ? torrent.info : undefined
  if (!isDict(info) || !isBytes(info.name) || !Array.isArray(info.files)) throw new Error(`${torrentFile}: not a multi-file torrent`)
  const decoder = new TextDecoder()
  const root = join(dir, decoder.decode(info.name))
  let written = 0
  for (const file of info.files) {
    if (!isDict(file) || !isBytes(file.attr) || !decoder.decode(file.attr).includes('p')) continue
    if (!isInt(file.length) || !Array.isArray(file.path) || !file.path.every(isBytes)) throw new Error(`${torrentFile}: a bad pad file entry`)
    const path = join(root, ...file.path.map((part) => decoder.decode(part as Uint8Array)))
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, new Uint8Array(file.length))
    written++
  }
  return written
}

/** Seeders (`complete`) the tracker counts for this torrent, from its HTTP /scrape (BEP 48). */
export async function scrapeSeeders (announceUrl: string, infoHashHex: string): Promise<number> {
  const { percentEncodeBytes } = await import('../../engine/discovery/http-tracker.js')
  const { bdecode, isDict, isInt } = await import('../../engine/util/bencode.js')
  const { fromHex } = await import('../../engine/util/bytes.js')
  const url = `${announceUrl.replace(/\/announce$/, '/scrape')}?info_hash=${percentEncodeBytes(fromHex(infoHashHex))}`
  const body = new Uint8Array(await (await fetch(url)).arrayBuffer())
  const value = bdecode(body)
  if (!isDict(value) || !isDict(value.files)) return 0
  const entry = Object.values(value.files)[0]
  return isDict(entry) && isInt(entry.complete) ? entry.complete : 0
}

/** Polls the tracker until it counts at least `n` seeders. */
export async function waitForSeeders (announceUrl: string, infoHashHex: string, n = 1, timeoutMs = 30_000): Promise<void> {
  const started = Date.now()
  while (await scrapeSeeders(announceUrl, infoHashHex) < n) {
    if (Date.now() - started > timeoutMs) throw new Error(`the tracker counted fewer than ${n} seeders within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
