/**
 * How the file system under a folder compares names, asked of the folder itself: case-sensitive APFS and Windows'
 * case-sensitive folders hold A.html and a.html apart, while vfat, exFAT, ext4 casefold or WSL's /mnt/c on Linux do
 * not. A probe file is made in the folder (or its nearest existing parent), its upper-case and decomposed spellings
 * looked up, and the file removed. Windows' reserved names follow the platform (Win32 refuses them everywhere).
 */
import { randomBytes } from 'node:crypto'
import { statSync, unlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { platformRules, type NamePlatform, type NameRules } from '../metainfo/names.js'

/**
 * The rules for files written under `dir`, which need not exist yet. Synchronous (a few system calls), as FsStore
 * is made synchronously. A folder the probe cannot write in gets `platform`'s defaults.
 */
export function probeNameRules (dir: string, platform: NamePlatform = process.platform): NameRules {
  const windowsNames = platform === 'win32'
  let folder = resolve(dir)
  while (!isFolder(folder) && dirname(folder) !== folder) folder = dirname(folder)
  // Lower case, with an "é" (U+00E9) that a normalising file system also finds as "e" + U+0301.
  const name = `.peersite-case-${randomBytes(6).toString('hex')}-\u00e9`
  const probe = join(folder, name)
  try {
    writeFileSync(probe, '', { flag: 'wx' })
  } catch {
    return platformRules(platform)
  }
  try {
    const made = statSync(probe)
    const same = (variant: string): boolean => {
      const st = statSync(join(folder, variant), { throwIfNoEntry: false })
      return st !== undefined && st.ino === made.ino && st.dev === made.dev
    }
    return { caseInsensitive: same(name.toUpperCase()), normalizes: same(name.normalize('NFD')), windowsNames }
  } finally {
    try { unlinkSync(probe) } catch { /* gone already */ }
  }
}

function isFolder (path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false
}
