import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { UsageError } from '../../../engine/errors.js'
import { DEFAULT_PREFETCH_LIMIT, parsePrefetchLimit } from '../../../cli/lib/prefetch.js'
import { publishSite, type Manifest } from '../../../cli/lib/publish.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'
import { copyHello, makeLoaderDir } from './helpers.js'

describe('--prefetch-limit', () => {
  it('parses bytes and sizes (KB/MB/GB read as binary units)', () => {
    expect(parsePrefetchLimit('0')).toBe(0)
    expect(parsePrefetchLimit('1048576')).toBe(1024 * 1024)
    expect(parsePrefetchLimit('50MB')).toBe(50 * 1024 * 1024)
    expect(parsePrefetchLimit('1.5 GiB')).toBe(1.5 * 1024 ** 3)
    expect(parsePrefetchLimit('800k')).toBe(800 * 1024)
    for (const bad of ['', '-1', 'lots', '5 TB', '1e9']) expect(() => parsePrefetchLimit(bad), bad).toThrow(UsageError)
  })

  const dirs: TempDir[] = []
  afterEach(async () => { for (const d of dirs.splice(0)) await d.cleanup() })

  it('is written into peersite.json (bytes), 5 MiB by default', async () => {
    const tmp = await makeTempDir('peersite-prefetch-')
    dirs.push(tmp)
    const site = await copyHello(tmp.path)
    const loaderDir = await makeLoaderDir(tmp.path)
    const a = await publishSite({ dir: site, out: join(tmp.path, 'a'), trackers: [], loaderDir })
    expect(a.manifest.prefetchLimit).toBe(DEFAULT_PREFETCH_LIMIT)
    expect(DEFAULT_PREFETCH_LIMIT).toBe(5 * 1024 * 1024)
    const b = await publishSite({ dir: site, out: join(tmp.path, 'b'), trackers: [], loaderDir, prefetchLimit: 1234 })
    const written = JSON.parse(await readFile(join(b.out, 'peersite.json'), 'utf8')) as Manifest
    expect(written.prefetchLimit).toBe(1234)
    expect(b.infoHash).toBe(a.infoHash) // a loader setting, not part of the torrent
  })
})
