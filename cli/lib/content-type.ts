/**
 * A site file's Content-Type for peersite.json and the index sections: mime's, as before, looked up once per
 * extension. mime.getType runs two regular-expression replaces and two lower-casings per call, about 1.2 µs cold:
 * 12-17 ms of publish's main thread for 10,000 files that share a handful of extensions (README "Where publish time
 * goes").
 */
import mime from 'mime'

/** Unknown types are served as bytes. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

const byExtension = new Map<string, string>()

/** mime.getType(path) ?? DEFAULT_CONTENT_TYPE, the same for every path. */
export function contentTypeOf (path: string): string {
  const dot = path.lastIndexOf('.')
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'))
  // Only a name with a dot that is not its first character: then mime's answer depends on the extension alone (the
  // text after the last dot, lower-cased; lower-casing never makes or removes a '.', '/' or '\'). Names without an
  // extension, and dotfiles, are asked of mime as they are.
  if (dot <= slash + 1) return mime.getType(path) ?? DEFAULT_CONTENT_TYPE
  const extension = path.slice(dot + 1)
  let type = byExtension.get(extension)
  if (type === undefined) {
    type = mime.getType(`x.${extension}`) ?? DEFAULT_CONTENT_TYPE
    byExtension.set(extension, type)
  }
  return type
}
