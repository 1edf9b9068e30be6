/**
 * What one finished request cost a visitor, as the many-files benchmark and test/e2e/many-files.test.ts count the
 * loader's bytes: its path, when its response ended (epoch ms, to compare with the site frame's first byte) and its
 * body raw and gzipped at level 9 (as test/e2e/budget.test.ts gzips the loader files). A 304 or an empty response
 * counts 0 bytes.
 */
import { gzipSync } from 'node:zlib'

/**
 * @param {import('playwright-core').Request} request
 * @returns {Promise<{ path: string, end: number, raw: number, gz: number } | undefined>} undefined for the service
 *   worker's own answers (they cost no download) and for requests whose response cannot be read
 */
export async function hostResponse (request) {
  try {
    const res = await request.response()
    if (res === null || res.fromServiceWorker()) return undefined
    const timing = request.timing()
    const { responseBodySize } = await request.sizes()
    const body = res.status() === 304 || responseBodySize === 0 ? undefined : await res.body()
    return {
      path: new URL(request.url()).pathname,
      end: timing.startTime + timing.responseEnd,
      raw: body?.length ?? 0,
      gz: body === undefined ? 0 : gzipSync(body, { level: 9 }).length
    }
  } catch {
    return undefined
  }
}
