/**
 * A site of many small HTML pages (250 B to 4 KB each, as documentation sites and blogs have), written into `dir`:
 * index.html (linking the deepest page), style.css, 404.html and `count - 3` pages under posts/YYYY/MM/. Sizes are
 * deterministic (a linear congruential sequence), so two runs publish the same torrent. The generator is
 * bench/lib/many-files-site.mjs (plain JavaScript, so the benchmark can run it without a build); this module gives
 * the tests its types.
 */
export { pagePath, writeManyFilesSite } from '../../bench/lib/many-files-site.mjs'

export interface ManyFilesSite {
  /** The deepest page's path and its <h1>. */
  readonly deep: { readonly path: string, readonly h1: string }
  readonly files: number
}
