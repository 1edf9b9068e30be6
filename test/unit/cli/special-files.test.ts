/**
 * Entries of a site folder that are not files or folders (FIFOs, sockets, devices) are not web content: publish
 * skips each with one warning line, and never opens a FIFO (an open would wait for a writer forever).
 */
import { execFileSync, spawn } from 'node:child_process'
import { readdir, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildTorrent } from '../../../cli/lib/torrent.js'
import { walkSite } from '../../../cli/lib/walk.js'
import { cliSandbox, copyHello, runCli } from './helpers.js'

const { env, fresh } = cliSandbox('peersite-special-')

describe('publish: FIFOs in the site folder', () => {
  it('skips a FIFO (and a symlink to one) with one warning line each, and publishes the rest', async () => {
    const dir = await fresh()
    const site = await copyHello(dir)
    execFileSync('mkfifo', [join(site, 'pipe'), join(site, 'docs', 'pipe2')])
    await symlink('../pipe', join(site, 'docs', 'to-pipe'))
    const result = await runCli(['publish', site, '--no-seed', '--json', '--tracker', 'ws://127.0.0.1:9'], { env, timeoutMs: 20_000 })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr.split('\n').filter((l) => l !== '').sort()).toEqual([
      'peersite: warning: skipping docs/pipe2: not a regular file (fifo)',
      'peersite: warning: skipping docs/to-pipe: not a regular file (fifo)',
      'peersite: warning: skipping pipe: not a regular file (fifo)'
    ])
    const listing = await walkSite(site)
    expect(listing.files.map((f) => f.path)).not.toContain('pipe')
    expect(listing.skipped).toHaveLength(3)
  })

  it('a listed file replaced by a FIFO before it is hashed fails at once instead of blocking', async () => {
    const dir = await fresh()
    execFileSync('mkfifo', [join(dir, 'page.html')])
    // As if the walk had seen a regular file of 5 bytes there, replaced since (a race no walk can close).
    const site = { root: dir, files: [{ path: 'page.html', absPath: join(dir, 'page.html'), length: 5, mtimeMs: 0 }], length: 5, skipped: [] }
    // On a hashing thread (big sites), and on this thread.
    for (const threads of [1, 0]) {
      // A watchdog that writes into the FIFO after a while: a blocking open would wait for it (a test that hung
      // would hold the run), then read through a seek error, not say that the file changed.
      const watchdog = spawn('sh', ['-c', 'sleep 3; printf hello > "$0"', join(dir, 'page.html')], { stdio: 'ignore' })
      try {
        await expect(buildTorrent(site, { name: 'site', pieceLength: 16384, trackers: [], threads })).rejects.toThrow(/page\.html changed while it was being hashed/)
      } finally {
        watchdog.kill('SIGKILL')
      }
    }
    expect(await readdir(dir)).toEqual(['page.html'])
  }, 20_000)
})
