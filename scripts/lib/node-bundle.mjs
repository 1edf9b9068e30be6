/**
 * The esbuild options every bundle that Node runs from dist/ shares (the CLI's entry point, the bundled publish,
 * the tracker server): one ES module for Node 20, no source map, licences gathered at the end of the file, and the
 * metafile that writeLicenceNotices reads to list what was inlined.
 */
export const NODE_BUNDLE = Object.freeze({
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: false,
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning'
})
