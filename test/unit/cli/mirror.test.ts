/**
 * `peersite mirror` on bad input: one line naming the problem, a non-zero exit, and no mirror folder left behind;
 * `publish --web-seed` refuses a URL it cannot use the same way.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
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
