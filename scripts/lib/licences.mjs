/**
 * The licence notices of the npm packages an esbuild bundle inlined (scripts/bundle-cli.mjs,
 * scripts/bundle-tracker.mjs): they are all MIT/ISC-style, so each notice must travel with the code. Written beside
 * the bundle as `<file>.LICENSES.txt`, one notice per package, sorted by name and version.
 */
import { readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { basename, join, resolve, sep } from 'node:path'

const NODE_MODULES = `${sep}node_modules${sep}`

/** Writes `<bundle>.LICENSES.txt` for the packages among the metafile's inputs; returns how many there were. */
export async function writeLicenceNotices (root, metafile, bundle) {
  const packages = new Map()
  for (const input of Object.keys(metafile.inputs)) {
    const abs = resolve(root, input)
    const at = abs.lastIndexOf(NODE_MODULES)
    if (at < 0) continue
    const parts = abs.slice(at + NODE_MODULES.length).split(sep)
    const dir = abs.slice(0, at + NODE_MODULES.length) + parts.slice(0, parts[0].startsWith('@') ? 2 : 1).join(sep)
    if (!packages.has(dir)) packages.set(dir, JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')))
  }
  const notices = []
  for (const [dir, pkg] of [...packages].sort((a, b) => a[1].name.localeCompare(b[1].name) || a[1].version.localeCompare(b[1].version))) {
    const licenceFile = (await readdir(dir)).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f))
    const text = licenceFile !== undefined && (await stat(join(dir, licenceFile))).isFile()
      ? await readFile(join(dir, licenceFile), 'utf8')
      : `${pkg.license ?? 'see the package'} (no licence file in the package)`
    notices.push(`${pkg.name}@${pkg.version} (${pkg.license ?? '?'})\n\n${text.trim()}\n`)
  }
  await writeFile(`${bundle}.LICENSES.txt`, `Third-party code inlined into ${basename(bundle)}:\n\n${notices.join('\n' + '-'.repeat(72) + '\n\n')}`)
  return packages.size
}
