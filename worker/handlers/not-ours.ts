import { WEB_SEED_HEADER } from '../protocol.js'
import type { Handler } from './context.js'

/**
 * Requests the site has no say in go to the network untouched: other methods, other origins, and paths outside
 * the worker's scope (a controlled page's every fetch reaches its worker, whatever the URL), and the leader's
 * requests to the site's own folder as a web seed (WEB_SEED_HEADER: the static host's copy of the files).
 */
export const notOursHandler: Handler = {
  canHandle: ({ request, rel }) => (request.method !== 'GET' && request.method !== 'HEAD') || rel === null || request.headers.has(WEB_SEED_HEADER)
}
