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
      await rm(path, { recursive: true, force: true })
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
