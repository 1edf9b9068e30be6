/**
 * The fetch handlers, in the order they are tried: the first whose `canHandle` is true answers (or, without
 * `handle`, lets the request through to the network).
 */
import type { Handler } from './context.js'
import { loaderFileHandler, loaderFileUndecidedHandler } from './loader-files.js'
import { notOursHandler } from './not-ours.js'
import { shellHandler } from './shell.js'
import { siteHandler } from './site.js'

export type { Context, Handler } from './context.js'
export { WorkerState } from './state.js'

export const handlers: readonly Handler[] = [
  notOursHandler,
  loaderFileHandler,
  loaderFileUndecidedHandler,
  shellHandler,
  siteHandler
]
