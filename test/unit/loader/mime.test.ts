/**
 * loader/mime.ts: the types the gateway loader gives a site's files when it builds the manifest from the torrent. A
 * file name is the torrent's (anyone's), so an extension that names a property every object has (`constructor`,
 * `__proto__`) must still give a string: the manifest goes to the worker as JSON, where a file without a string type
 * makes parseManifest refuse the whole site.
 */
import { describe, expect, it } from 'vitest'
import { mimeType } from '../../../loader/mime.js'
import { parseManifest } from '../../../worker/site.js'

describe('mimeType', () => {
  it('types a site\'s files by extension, case-insensitively; anything else is bytes', () => {
    expect(mimeType('index.html')).toBe('text/html')
    expect(mimeType('docs/STYLE.CSS')).toBe('text/css')
    expect(mimeType('a.b/README')).toBe('application/octet-stream')
    expect(mimeType('x.unknownext')).toBe('application/octet-stream')
  })

  it('gives an extension that names a property of every object (x.constructor, x.__proto__) the default type', () => {
    for (const path of ['x.constructor', 'a/x.CONSTRUCTOR', 'x.__proto__', 'x.hasownproperty', 'x.tostring', 'x.valueof']) {
      expect([path, mimeType(path)]).toEqual([path, 'application/octet-stream'])
    }
    const files = ['x.constructor', 'x.__proto__'].map((path) => ({ path, length: 1, type: mimeType(path) }))
    const json = JSON.stringify({ version: 1, infoHash: 'a'.repeat(40), files })
    expect(parseManifest(JSON.parse(json)).files).toEqual(files)
  })
})
