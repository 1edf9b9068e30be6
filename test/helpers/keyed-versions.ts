/** Two versions of one keyed site, for the integration tests of site keys (pointer-get, follow-node). */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { publishSite, type PublishResult } from '../../cli/lib/publish.js'
import { copyHello, makeLoaderDir } from '../unit/cli/helpers.js'

export interface KeyedVersions {
  readonly v1: PublishResult
  readonly v2: PublishResult
  readonly loaderDir: string
  /** The site key both versions were signed with. */
  readonly keyFile: string
}

/**
 * examples/hello published twice under one site key, everything under `root`: version 1, then version 2 whose
 * about.html reads `<h1>About, version 2</h1>`. Outputs in `root`/v1 and `root`/v2.
 */
export async function publishTwoVersions (root: string, trackers: string[]): Promise<KeyedVersions> {
  const loaderDir = await makeLoaderDir(root)
  const keyFile = join(root, 'keys', 'site.key')
  const site = await copyHello(root)
  const common = { dir: site, trackers, loaderDir, keyFile, stateDir: join(root, 'publisher-state') }
  const v1 = await publishSite({ ...common, out: join(root, 'v1') })
  await writeFile(join(site, 'about.html'), '<h1>About, version 2</h1>\n')
  const v2 = await publishSite({ ...common, out: join(root, 'v2') })
  return { v1, v2, loaderDir, keyFile }
}
