/**
 * Media types by file extension, for the gateway loader, which builds a site's manifest from its torrent (peers send
 * the info dictionary, BEP 9; it names files, not types). The same answers `peersite publish` gets from the `mime`
 * package for the files web sites are made of; anything else is application/octet-stream (a download), as there.
 */
const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html', htm: 'text/html', css: 'text/css', js: 'text/javascript', mjs: 'text/javascript',
  json: 'application/json', map: 'application/json', jsonld: 'application/ld+json', webmanifest: 'application/manifest+json',
  txt: 'text/plain', md: 'text/markdown', xml: 'application/xml', csv: 'text/csv', vtt: 'text/vtt', yaml: 'text/yaml', yml: 'text/yaml',
  rss: 'application/rss+xml', atom: 'application/atom+xml', ics: 'text/calendar',
  svg: 'image/svg+xml', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp',
  avif: 'image/avif', ico: 'image/vnd.microsoft.icon', bmp: 'image/bmp', apng: 'image/apng',
  woff: 'font/woff', woff2: 'font/woff2', ttf: 'font/ttf', otf: 'font/otf', eot: 'application/vnd.ms-fontobject',
  mp4: 'video/mp4', webm: 'video/webm', m4v: 'video/x-m4v', mov: 'video/quicktime', ogv: 'video/ogg',
  mp3: 'audio/mpeg', m4a: 'audio/mp4', ogg: 'audio/ogg', oga: 'audio/ogg', opus: 'audio/ogg', wav: 'audio/wav',
  flac: 'audio/x-flac', aac: 'audio/aac',
  pdf: 'application/pdf', wasm: 'application/wasm', zip: 'application/zip', gz: 'application/gzip', epub: 'application/epub+zip',
  glb: 'model/gltf-binary', gltf: 'model/gltf+json'
}

export function mimeType (path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1)
  const dot = name.lastIndexOf('.')
  const extension = name.slice(dot + 1).toLowerCase()
  // The table's own entries only: `x.constructor` or `x.__proto__` (any torrent's file name) would otherwise get a
  // function or an object from Object.prototype, a manifest entry without a type, which the worker refuses whole.
  return (dot >= 0 && Object.hasOwn(TYPES, extension) ? TYPES[extension] : undefined) ?? 'application/octet-stream'
}
