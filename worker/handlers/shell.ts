import { messagePage } from '../site.js'
import { isTopLevelNavigation, type Handler } from './context.js'

/**
 * Every top-level navigation in the scope gets the loader shell, whatever its path: the shell runs the engine
 * and shows the path in its full-window iframe, whose own navigation the site handler answers.
 */
export const shellHandler: Handler = {
  canHandle: ({ request }) => isTopLevelNavigation(request),
  handle: async ({ event, state, url }) => {
    try {
      const res = await state.shell()
      // The frame's page and its files, read ahead and checked while the shell loads; then the shell's refresh.
      event.waitUntil(state.warm(url).catch(() => {}).then(async () => { await state.refreshShell() }))
      return res
    } catch {
      return messagePage(503, 'This site cannot load while offline',
        'The peersite loader page is neither cached nor reachable. Check the connection and reload.')
    }
  }
}
