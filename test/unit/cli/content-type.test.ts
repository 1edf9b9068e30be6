/**
 * cli/lib/content-type.ts: publish's Content-Types come from mime, looked up once per extension. Whatever the path
 * (upper case, several dots, dotfiles, no extension, backslashes, non-ASCII letters whose lower case is longer or
 * depends on what comes before), the answer is mime.getType's, or application/octet-stream.
 */
import fc from 'fast-check'
import mime from 'mime'
import { describe, expect, it } from 'vitest'
import { contentTypeOf, DEFAULT_CONTENT_TYPE } from '../../../cli/lib/content-type.js'

const expected = (path: string): string => mime.getType(path) ?? DEFAULT_CONTENT_TYPE

describe('contentTypeOf', () => {
  it('gives mime\'s type for the paths of a site', () => {
    const paths = ['index.html', 'docs/guide/INDEX.HTML', 'a/b/style.css', 'app.min.js', 'data.JSON', 'archive.tar.gz', 'img/photo.JPeG',
      'README', 'docs/Makefile', '.well-known/security.txt', '.well-known/.hidden', 'a/.htaccess', '.html', 'html', 'a/html', 'x.',
      'a.b/c', 'a\\b.css', 'a/b\\c', 'font.woff2', 'video.mp4', 'x.unknownext', 'ΑΣ.html', 'a.Σ', 'file.\u212Ass', 'İ.html', 'a/İİ']
    for (const path of paths) expect([path, contentTypeOf(path)]).toEqual([path, expected(path)])
    // The second call of a cached extension still answers for its own path.
    expect(contentTypeOf('b/INDEX.html')).toBe('text/html')
    expect(contentTypeOf('c/page')).toBe(DEFAULT_CONTENT_TYPE)
  })

  it('agrees with mime on any path made of dots, slashes and letters that lower-case oddly', () => {
    const char = fc.constantFrom('.', '/', '\\', 'a', 'A', 'h', 't', 'm', 'l', 'j', 's', 'c', 'S', 'g', 'z', 'p', 'Σ', '\u212A', 'İ', 'ẞ', '2', '-', '+')
    fc.assert(fc.property(fc.array(char, { maxLength: 14 }).map((cs) => cs.join('')), (path) => {
      expect(contentTypeOf(path)).toBe(expected(path))
    }), { numRuns: 5000 })
  })
})
