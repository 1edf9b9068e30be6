import type { Handler } from './context.js'

/**
 * Requests the site has no say in go to the network untouched: other methods, other origins, and paths outside
 * the worker's scope (a controlled page's every fetch reaches its worker, whatever the URL).
 */
export const notOursHandler: Handler = {
  name: 'not-ours',
  canHandle: ({ request, rel }) => (request.method !== 'GET' && request.method !== 'HEAD') || rel === null
}
