/**
 * A site of many small HTML pages (250 B to 4 KB each, as documentation sites and blogs have), written into `dir`:
 * index.html (linking the deepest page), style.css, 404.html and `count - 3` pages under posts/YYYY/MM/. Sizes are
 * deterministic (a linear congruential sequence), so two runs publish the same torrent. The same generator, in plain
 * JavaScript, is bench/lib/many-files-site.mjs.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface ManyFilesSite {
  /** The deepest page's path and its <h1>. */
  readonly deep: { readonly path: string, readonly h1: string }
  readonly files: number
}

/** Where page `i` lives. */
export function pagePath (i: number): string {
  return `posts/${2000 + (i % 25)}/${String(1 + (Math.floor(i / 25) % 12)).padStart(2, '0')}/page-${i}.html`
}

export async function writeManyFilesSite (dir: string, count: number): Promise<ManyFilesSite> {
  const pages = Math.max(1, count - 3)
  const deep = { path: pagePath(pages - 1), h1: `Page ${pages - 1}` }
  await writeFile(join(dir, 'index.html'), `<!doctype html><meta charset="utf-8"><title>Many files</title><link rel="stylesheet" href="style.css"><h1>Many files</h1><a id="deep" href="${deep.path}">the last page</a>\n`)
  await writeFile(join(dir, 'style.css'), 'body{font:16px system-ui;margin:2rem}\n')
  await writeFile(join(dir, '404.html'), '<!doctype html><meta charset="utf-8"><title>Not found</title><h1>Not found</h1>\n')
  let seed = 12345
  const made = new Set<string>()
  for (let i = 0; i < pages; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    const size = 250 + (seed % (4096 - 250))
    const path = pagePath(i)
    const folder = path.slice(0, path.lastIndexOf('/'))
    if (!made.has(folder)) {
      await mkdir(join(dir, folder), { recursive: true })
      made.add(folder)
    }
    const head = `<!doctype html><meta charset="utf-8"><title>Page ${i}</title><link rel="stylesheet" href="/style.css"><h1>Page ${i}</h1><p>`
    const filler = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(Math.ceil(size / 57)).slice(0, Math.max(0, size - head.length - 5))
    await writeFile(join(dir, path), `${head}${filler}</p>\n`)
  }
  return { deep, files: pages + 3 }
}
