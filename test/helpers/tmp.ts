/**
 * Temporary directories for tests, removed on cleanup. Each lives under the OS temp dir with a recognisable
 * prefix so a crashed run leaves something a human can identify.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TempDir {
  readonly path: string
  /** Remove the directory and everything in it. Safe to call twice. */
  cleanup (): Promise<void>
}

export async function makeTempDir (prefix = 'peersite-test-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  let removed = false
  return {
    path,
    cleanup: async () => {
      if (removed) return
      removed = true
      // A browser's helper processes can still be writing into a profile here for a moment after the browser
      // closed (Firefox ESR, seen in CI as ENOTEMPTY): rm tries again, 100 ms apart, before it gives up.
      await rm(path, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 })
    }
  }
}

/**
 * Run `fn` with a fresh temp dir and remove it afterwards, whether `fn` throws or not.
 */
export async function withTempDir<T> (fn: (path: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = await makeTempDir(prefix)
  try {
    return await fn(dir.path)
  } finally {
    await dir.cleanup()
  }
}
