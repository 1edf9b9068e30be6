/**
 * File names a disk cannot hold apart. A torrent's paths are distinct strings (parseInfoDictionary refuses exact
 * duplicates and a file inside a file), yet on Windows and macOS two of them can still be one file: both file systems
 * ignore case by default (NTFS, APFS, HFS+), and macOS also ignores the Unicode form ("café" with U+00E9 or with
 * "e" + U+0301: APFS compares names normalisation-insensitively, HFS+ stores them decomposed). Written there, the
 * second file overwrites the first, and a store that reads verified pieces back without hashing them again would
 * serve the wrong bytes. Windows also refuses some names outright (CON, aux.txt, a name ending in a dot, `?`).
 *
 * Pure: the rules are a parameter, so every rule is testable anywhere. They follow the file system, not the platform
 * (case-sensitive APFS, a case-insensitive folder on Linux or WSL's /mnt/c): engine/storage/name-probe.ts asks the
 * folder itself; a platform name stands for its default file system. Where nothing folds (an ordinary Linux file
 * system), the check returns at once, or looks only for Windows' refused names where those apply:
 * parseInfoDictionary already refuses exact duplicates and a file inside a file.
 */

/** `process.platform`'s values that matter here; any other behaves as Linux. */
export type NamePlatform = 'win32' | 'darwin' | (string & {})

/** A site as a refusal names it: its name and the start of its infohash ("site (08cc9bb4)"). */
export function siteLabel (m: { readonly name: string, readonly infoHash: string }): string {
  return `${m.name} (${m.infoHash.slice(0, 8)})`
}

/** How a file system compares names. */
export interface NameRules {
  /** Names that differ only in case are one file (NTFS, APFS and HFS+ by default, vfat, exFAT, ext4 casefold). */
  readonly caseInsensitive: boolean
  /** Names that differ only in Unicode form are one file (APFS, HFS+). */
  readonly normalizes: boolean
  /** Windows' reserved names and characters are refused (by the platform: Win32 refuses them on any file system). */
  readonly windowsNames: boolean
  /** Where, in a message: "on macOS"; default "here". */
  readonly where?: string
}

/** A platform's default file system: Windows (NTFS) folds case, macOS (APFS) case and Unicode form, others nothing. */
export function platformRules (platform: NamePlatform): NameRules {
  if (platform === 'win32') return { caseInsensitive: true, normalizes: false, windowsNames: true, where: 'on Windows' }
  if (platform === 'darwin') return { caseInsensitive: true, normalizes: true, windowsNames: false, where: 'on macOS' }
  return { caseInsensitive: false, normalizes: false, windowsNames: false, where: `on ${platform}` }
}

/**
 * Windows' reserved device names, with or without an extension ("nul.tar.gz" is the device NUL): Microsoft's "Naming
 * Files, Paths, and Namespaces" lists CON, PRN, AUX, NUL, COM0-9, LPT0-9 and the superscript digits ¹ ² ³.
 */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i
/** "Use any character except": < > : " / \ | ? * and the characters 1 through 31 (NUL is refused everywhere). */
// eslint-disable-next-line no-control-regex
const WINDOWS_FORBIDDEN = /[<>:"/\\|?*\u0000-\u001f]/

/** A path in which some name may break one of Windows' rules (windowsNameProblem tells which, if any). */
// eslint-disable-next-line no-control-regex
const WINDOWS_SUSPECT = /[<>:"\\|?*\u0000-\u001f]|[. ](?:\/|$)|(?:^|\/)(?:con|prn|aux|nul|com|lpt)/i

/**
 * The first reason `paths` ('/'-separated, as in TorrentFile.path) cannot be written side by side under `rules` (or
 * `platform`'s default file system), as
 * one line naming the paths; undefined if there is none. Folders count too: a file "x" and a file "X/y" cannot both
 * be made on Windows or macOS, and "a/B" and "A/b" are one file there. Folders that differ only in case ("A/x" and
 * "a/y") are not a problem: the file system makes them one folder, and both files are kept.
 */
export function fileNameProblem (paths: readonly string[], rulesOrPlatform: NameRules | NamePlatform): string | undefined {
  const rules = typeof rulesOrPlatform === 'string' ? platformRules(rulesOrPlatform) : rulesOrPlatform
  // Nothing folds and every name is allowed: distinct strings are distinct files (parseInfoDictionary refuses the rest).
  if (!rules.caseInsensitive && !rules.normalizes && !rules.windowsNames) return undefined
  // Nothing folds, but Windows' names are refused: only those are left to look for.
  if (!rules.caseInsensitive && !rules.normalizes) return windowsPathsProblem(paths)
  const where = rules.where ?? 'here'
  const fold = nameKey(rules)
  /** Each name seen (a file or a folder), by its key on this platform, with the first path that holds it. */
  const seen = new Map<string, { readonly name: string, readonly file: boolean, readonly path: string }>()
  /** The problem with `name` (a file, or a folder of `path`) against what was seen, or undefined once it is recorded. */
  const meet = (key: string, name: string, file: boolean, path: string): string | undefined => {
    const other = seen.get(key)
    if (other === undefined) {
      seen.set(key, { name, file, path })
      return undefined
    }
    // Two folders that are one: their files share it, which loses nothing. Two files, or a file and a folder,
    // cannot: one overwrites the other, or cannot be made at all.
    if (!other.file && !file) return undefined
    if (other.name === name) return other.file && file ? `duplicate file path ${path}` : `${other.file ? path : other.path} is inside the file ${name}`
    return `${other.path} and ${path} are the same ${other.file && file ? 'file' : 'name'} ${where} (names that differ only in case or Unicode form)`
  }
  for (const path of paths) {
    if (rules.windowsNames) {
      const reason = windowsPathProblem(path)
      if (reason !== undefined) return reason
    }
    const key = fold(path)
    const problem = meet(key, path, true, path)
    if (problem !== undefined) return problem
    // Its folders, deepest first, up to one already seen as a folder (whose own folders were seen with it). Folding
    // never adds or removes a '/': the n-th '/' of the key ends the same folder as the n-th '/' of the path.
    for (let k = key.lastIndexOf('/'), p = path.lastIndexOf('/'); k > 0; k = key.lastIndexOf('/', k - 1), p = path.lastIndexOf('/', p - 1)) {
      const folder = key.slice(0, k)
      const known = seen.get(folder)
      if (known !== undefined && !known.file) break
      const clash = meet(folder, path.slice(0, p), false, path)
      if (clash !== undefined) return clash
    }
  }
  return undefined
}

/** The first path holding a name Windows refuses, as fileNameProblem words it; undefined if none. */
function windowsPathsProblem (paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const problem = windowsPathProblem(path)
    if (problem !== undefined) return problem
  }
  return undefined
}

function windowsPathProblem (path: string): string | undefined {
  // One test of the whole path first: splitting every path into its names cost publish more than the rest here.
  if (!WINDOWS_SUSPECT.test(path)) return undefined
  for (const part of path.split('/')) {
    const reason = windowsNameProblem(part)
    if (reason !== undefined) return `${path}: ${JSON.stringify(part)} ${reason} on Windows`
  }
  return undefined
}

/**
 * What two names share when they are one on some disk: the name with its case folded and its Unicode form joined (the
 * widest rules: a case-insensitive, normalising file system). Two different files linked together (a hard link, a
 * symbolic link) are not one: their names stay apart everywhere. A caller comparing many names folds each once and
 * compares the keys (a map from key to name), not every pair.
 */
export function foldName (name: string): string {
  return upcase(normalizeName(name))
}

/** What two names must share to be one under `rules`: the name itself where nothing folds. */
function nameKey (rules: NameRules): (name: string) => string {
  const norm = rules.normalizes ? normalizeName : (name: string) => name
  return rules.caseInsensitive ? (name) => upcase(norm(name)) : norm
}

// eslint-disable-next-line no-control-regex
const ASCII = /^[\u0000-\u007f]*$/

/** Whether `name` is all ASCII: nothing in it folds but its letters' case, and no Unicode form changes it. */
export function isAscii (name: string): boolean {
  return ASCII.test(name)
}

/**
 * NTFS compares names by upper-casing each UTF-16 unit through its upcase table, a simple (one code point to one)
 * mapping: "ß" stays "ß", and the Kelvin sign K, the Ohm sign Ω and "İ" are upper case already, so they are not
 * joined with "k", "ω" and "i" + U+0307 (toLowerCase would join them). Each code point whose toUpperCase() is a single code
 * point becomes it; any other stays.
 */
function upcase (name: string): string {
  if (isAscii(name)) return name.toUpperCase()
  let out = ''
  for (const ch of name) {
    const up = ch.toUpperCase()
    // One code point: one UTF-16 unit, or a surrogate pair.
    out += up.length === 1 || (up.length === 2 && up.codePointAt(0)! > 0xffff) ? up : ch
  }
  return out
}

/**
 * HFS+ and APFS compare names decomposed, but leave U+2000-U+2FFF and the CJK compatibility ideographs (U+F900-U+FAFF,
 * U+2F800-U+2FA1F) as they are (NFD would turn those ideographs into others): each run of other characters is
 * decomposed, those stay.
 */
const NORMALIZED_RUN = /[^\u2000-\u2fff\uf900-\ufaff\u{2f800}-\u{2fa1f}]+/gu
function normalizeName (name: string): string {
  if (isAscii(name)) return name
  return name.replace(NORMALIZED_RUN, (run) => run.normalize('NFD'))
}

/** Why Windows refuses `name` as a file or folder name ("is reserved"...), or undefined. */
function windowsNameProblem (name: string): string | undefined {
  const bad = WINDOWS_FORBIDDEN.exec(name)
  if (bad !== null) return `holds ${JSON.stringify(bad[0])}, which is not allowed in a file name`
  // Windows drops a trailing dot or space when it opens a file: "a." would be the file "a".
  if (name.endsWith('.') || name.endsWith(' ')) return 'ends in a dot or a space, which is dropped'
  // Windows matches a device name before the first dot, and ignores spaces before that dot ("CON .txt").
  if (WINDOWS_DEVICE.test(name.split('.')[0]!.trimEnd())) return 'is a reserved device name'
  return undefined
}
