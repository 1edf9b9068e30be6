/**
 * A site of many small HTML pages (250 B to 4 KB each), also the tests' (test/helpers/many-files.ts re-exports it): index.html,
 * style.css, 404.html and `count - 3` pages under posts/YYYY/MM/, sizes from a fixed linear congruential sequence.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export function pagePath (i) {
  return `posts/${2000 + (i % 25)}/${String(1 + (Math.floor(i / 25) % 12)).padStart(2, '0')}/page-${i}.html`
}

/** @returns {Promise<{ deep: { path: string, h1: string }, files: number, bytes: number }>} */
export async function writeManyFilesSite (dir, count) {
  const pages = Math.max(1, count - 3)
  const deep = { path: pagePath(pages - 1), h1: `Page ${pages - 1}` }
  let bytes = 0
  const put = async (path, text) => {
    bytes += Buffer.byteLength(text)
    await writeFile(join(dir, path), text)
  }
  await put('index.html', `<!doctype html><meta charset="utf-8"><title>Many files</title><link rel="stylesheet" href="style.css"><h1>Many files</h1><a id="deep" href="${deep.path}">the last page</a>\n`)
  await put('style.css', 'body{font:16px system-ui;margin:2rem}\n')
  await put('404.html', '<!doctype html><meta charset="utf-8"><title>Not found</title><h1>Not found</h1>\n')
  let seed = 12345
  const made = new Set()
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
    await put(path, `${head}${filler}</p>\n`)
  }
  return { deep, files: pages + 3, bytes }
}
