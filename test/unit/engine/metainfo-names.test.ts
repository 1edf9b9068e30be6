/**
 * fileNameProblem: paths that Windows or macOS would write into one file, or that Windows refuses, are named; on
 * Linux only exact duplicates are. The platform is a parameter, so every rule runs here on Linux.
 */
import { describe, expect, it } from 'vitest'
import { fileNameProblem } from '../../../engine/metainfo/names.js'

const NFC = 'caf\u00e9.html'
const NFD = 'cafe\u0301.html'

describe('fileNameProblem', () => {
  it('accepts an ordinary site on every platform', () => {
    const paths = ['index.html', 'about.html', 'docs/index.html', 'docs/guide/a.css', 'Docs.html', 'img/Logo.png', 'img/logo.svg', NFC]
    for (const platform of ['linux', 'darwin', 'win32', 'freebsd']) expect(fileNameProblem(paths, platform), platform).toBeUndefined()
  })

  it('names two files that differ only in case, on macOS and Windows but not on Linux', () => {
    expect(fileNameProblem(['index.html', 'A.html', 'a.html'], 'darwin')).toBe('A.html and a.html are the same file on macOS (names that differ only in case or Unicode form)')
    expect(fileNameProblem(['A.html', 'a.html'], 'win32')).toMatch(/^A\.html and a\.html are the same file on Windows/)
    expect(fileNameProblem(['A.html', 'a.html'], 'linux')).toBeUndefined()
  })

  it('compares folders too: a file and a folder, or one file reached through folders of different case', () => {
    expect(fileNameProblem(['x', 'X/y'], 'darwin')).toMatch(/^x and X\/y are the same name on macOS/)
    expect(fileNameProblem(['X/y', 'x'], 'win32')).toMatch(/^X\/y and x are the same name on Windows/)
    expect(fileNameProblem(['docs/Guide.html', 'Docs/guide.html'], 'darwin')).toMatch(/^docs\/Guide\.html and Docs\/guide\.html are the same file/)
    expect(fileNameProblem(['a/B', 'A/b/c'], 'win32')).toMatch(/^a\/B and A\/b\/c are the same name/)
    for (const platform of ['linux', 'darwin', 'win32']) expect(fileNameProblem(['x', 'X/y'], platform) === undefined, platform).toBe(platform === 'linux')
  })

  it('lets folders that differ only in case share their files (nothing is lost)', () => {
    expect(fileNameProblem(['A/x.html', 'a/y.html', 'A/sub/z', 'a/SUB/w'], 'darwin')).toBeUndefined()
    expect(fileNameProblem(['A/x.html', 'a/y.html'], 'win32')).toBeUndefined()
  })

  it('treats NFC and NFD spellings as one name on macOS only (NTFS does not normalise)', () => {
    expect(fileNameProblem([NFC, NFD], 'darwin')).toBe(`${NFC} and ${NFD} are the same file on macOS (names that differ only in case or Unicode form)`)
    expect(fileNameProblem([`${NFC}/x`, `${NFD.toUpperCase()}/x`], 'darwin')).toMatch(/are the same file on macOS/)
    expect(fileNameProblem([NFC, NFD], 'win32')).toBeUndefined()
    expect(fileNameProblem([NFC, NFD], 'linux')).toBeUndefined()
  })

  it('names exact duplicates and a file inside a file where names fold', () => {
    for (const platform of ['darwin', 'win32']) {
      expect(fileNameProblem(['a.html', 'b', 'a.html'], platform)).toBe('duplicate file path a.html')
      expect(fileNameProblem(['a', 'a/b'], platform)).toBe('a/b is inside the file a')
      expect(fileNameProblem(['a/b', 'a'], platform)).toBe('a/b is inside the file a')
    }
  })

  it('returns at once where nothing folds (Linux): parseInfoDictionary refuses exact duplicates already', () => {
    expect(fileNameProblem(['a.html', 'a.html', 'A.html', 'a', 'a/b'], 'linux')).toBeUndefined()
    expect(fileNameProblem(['a.html', 'a.html'], { caseInsensitive: false, normalizes: false, windowsNames: false })).toBeUndefined()
  })

  it('follows the rules it is given, not a platform: a case-insensitive Linux folder, case-sensitive APFS', () => {
    const vfat = { caseInsensitive: true, normalizes: false, windowsNames: false }
    expect(fileNameProblem(['A.html', 'a.html'], vfat)).toBe('A.html and a.html are the same file here (names that differ only in case or Unicode form)')
    expect(fileNameProblem([NFC, NFD], vfat)).toBeUndefined()
    const caseSensitiveApfs = { caseInsensitive: false, normalizes: true, windowsNames: false }
    expect(fileNameProblem(['A.html', 'a.html'], caseSensitiveApfs)).toBeUndefined()
    expect(fileNameProblem([NFC, NFD], caseSensitiveApfs)).toMatch(/are the same file here/)
    expect(fileNameProblem(['aux.html'], { caseInsensitive: false, normalizes: false, windowsNames: true })).toMatch(/reserved device name on Windows/)
    // A case-sensitive folder on Windows: names are not folded, Windows' refused names are still named (the first in order).
    const caseSensitiveNtfs = { caseInsensitive: false, normalizes: false, windowsNames: true }
    expect(fileNameProblem(['A.html', 'a.html'], caseSensitiveNtfs)).toBeUndefined()
    expect(fileNameProblem(['A.html', 'docs/x?.html', 'con.txt'], caseSensitiveNtfs)).toBe('docs/x?.html: "x?.html" holds "?", which is not allowed in a file name on Windows')
  })

  it('folds case code point by code point as NTFS does: the Kelvin sign, the Ohm sign and İ keep their own files', () => {
    for (const pair of [['\u212a.html', 'k.html'], ['\u212a.html', 'K.html'], ['\u2126.html', '\u03c9.html'], ['\u0130.html', 'i\u0307.html'], ['\u00df.html', 'SS.html']]) {
      expect(fileNameProblem(pair, 'win32'), pair.join(' ')).toBeUndefined()
    }
    expect(fileNameProblem(['K.html', 'k.html'], 'win32')).toMatch(/same file on Windows/)
    expect(fileNameProblem(['\u03a9.html', '\u03c9.html'], 'win32')).toMatch(/same file on Windows/)
    expect(fileNameProblem(['\u00c9t\u00e9.html', '\u00e9T\u00c9.html'], 'win32')).toMatch(/same file on Windows/)
  })

  it('on macOS, leaves U+2000-U+2FFF and CJK compatibility ideographs out of the Unicode comparison', () => {
    // NFD turns U+F900 into U+8C48, U+2126 (Ohm) into U+03A9 and U+212A (Kelvin) into K: HFS+ and APFS do not.
    for (const pair of [['\uf900.html', '\u8c48.html'], ['\u{2f800}.html', '\u4e3d.html'], ['\u2126.html', '\u03a9.html'], ['\u212a.html', 'k.html']]) {
      expect(fileNameProblem(pair, 'darwin'), pair.join(' ')).toBeUndefined()
    }
    // The characters around them are still compared decomposed.
    expect(fileNameProblem([`\uf900-${NFC}`, `\uf900-${NFD}`], 'darwin')).toMatch(/same file on macOS/)
  })

  it('names Windows reserved device names, with or without an extension, in any case and any folder', () => {
    for (const name of ['CON', 'con', 'aux.txt', 'nul.tar.gz', 'PRN.html', 'COM1', 'com9.log', 'LPT9', 'lpt1.x', 'COM\u00b9', 'CON .txt']) {
      expect(fileNameProblem(['index.html', `docs/${name}`], 'win32'), name).toBe(`docs/${name}: ${JSON.stringify(name)} is a reserved device name on Windows`)
      expect(fileNameProblem([`docs/${name}`], 'darwin'), name).toBeUndefined()
      expect(fileNameProblem([`docs/${name}`], 'linux'), name).toBeUndefined()
    }
    expect(fileNameProblem(['aux/index.html'], 'win32')).toBe('aux/index.html: "aux" is a reserved device name on Windows')
    // Only the whole name before the first dot is a device.
    for (const name of ['console.html', 'auxiliary', 'com10', 'lpt', 'my.con', 'null.txt']) expect(fileNameProblem([name], 'win32'), name).toBeUndefined()
  })

  it('names characters Windows refuses and names ending in a dot or a space', () => {
    for (const ch of ['<', '>', ':', '"', '|', '?', '*', '\u0001', '\u001f']) {
      expect(fileNameProblem([`a${ch}b.html`], 'win32'), ch).toBe(`a${ch}b.html: ${JSON.stringify(`a${ch}b.html`)} holds ${JSON.stringify(ch)}, which is not allowed in a file name on Windows`)
      expect(fileNameProblem([`a${ch}b.html`], 'linux'), ch).toBeUndefined()
    }
    expect(fileNameProblem(['docs./a.html'], 'win32')).toBe('docs./a.html: "docs." ends in a dot or a space, which is dropped on Windows')
    expect(fileNameProblem(['a.html '], 'win32')).toMatch(/ends in a dot or a space/)
    expect(fileNameProblem(['docs./a.html', 'a.html '], 'darwin')).toBeUndefined()
  })
})
