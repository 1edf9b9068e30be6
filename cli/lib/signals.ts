/**
 * Long-running commands end on SIGINT (Ctrl-C) or SIGTERM, closing cleanly; a second signal exits at once.
 *
 * Exit status (README "Exit status"): work that a signal cuts short (a download, a publish being written, a site
 * key's first version still awaited) exits 128 + the signal's number, 130 for SIGINT and 143 for SIGTERM, as a shell
 * reports a process the signal killed; a command that runs until it is stopped (seeding, serving, a tracker) and
 * then closes cleanly did what it was asked and exits 0 (a service manager stopping it with SIGTERM sees success).
 */
import { readFileSync, rmSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { constants } from 'node:os'
import { dirname } from 'node:path'
import { InterruptedError } from '../../engine/errors.js'
import { printError } from './format.js'

/** 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM. */
export function signalExitCode (signal: string): number {
  return 128 + (constants.signals[signal as NodeJS.Signals] ?? 0)
}

/** The message for work cut short by `signal`. */
export function interruptedBy (signal: NodeJS.Signals): string {
  return signal === 'SIGINT' ? 'interrupted' : `${signal} received`
}

export function waitForShutdown (onSecondSignal: (signal: NodeJS.Signals) => void = (signal) => process.exit(signalExitCode(signal))): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false
    const handler = (signal: NodeJS.Signals): void => {
      if (received) {
        onSecondSignal(signal)
        return
      }
      received = true
      resolve(signal)
    }
    process.on('SIGINT', handler)
    process.on('SIGTERM', handler)
  })
}

/**
 * The staging folders beside `out` whose names start with `prefix` (what follows the prefix, for the caller to read
 * its process id from), none when the parent folder cannot be read.
 */
export async function stagingLeftovers (out: string, prefix: string): Promise<string[]> {
  const names = await readdir(dirname(out)).catch(() => [] as string[])
  return names.filter((name) => name.startsWith(prefix)).map((name) => name.slice(prefix.length))
}

/** Whether a process runs (someone else's too): a staging folder named after a dead one is left over. */
export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // it exists, it is someone else's
  }
}

/**
 * Whether the process `pid` may be the run that named a leftover folder whose status last changed at `changedMs`
 * (its ctime, in ms since the epoch). A process that is gone is not; on Linux, neither is one that started after
 * that: process ids are reused (a container's restarted run gets the same small pid), and a leftover taken for a
 * live run's is never swept. The ctime, not the birth time: a folder moved aside (`-old`) was born with the earlier
 * output, long before the run that renamed it, and a rename sets the ctime. Elsewhere, or when /proc cannot tell, a
 * live process is taken for the owner.
 */
export function mayHaveMade (pid: number, changedMs: number): boolean {
  if (!isAlive(pid)) return false
  const started = processStartMs(pid)
  return started === undefined || started <= changedMs + START_SLACK_MS
}

/**
 * How much later than a folder's ctime a process may seem to have started and still be taken for its owner: the boot
 * time in /proc/stat is in whole seconds, the start time in clock ticks, and the wall clock may have been adjusted.
 */
const START_SLACK_MS = 2000

/**
 * Linux's USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every architecture Node runs on (sysconf(_SC_CLK_TCK),
 * which Node does not expose; `getconf CLK_TCK` would cost a process).
 */
const CLOCK_TICKS_PER_SECOND = 100

let bootTimeMs: number | undefined

/** When the process `pid` started, in ms since the epoch (Linux only; undefined where /proc does not say). */
export function processStartMs (pid: number): number | undefined {
  if (process.platform !== 'linux') return undefined
  try {
    if (bootTimeMs === undefined) {
      const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]
      if (btime === undefined) return undefined
      bootTimeMs = Number(btime) * 1000
    }
    // Field 2, the command's name in parentheses, may itself hold spaces and parentheses: the fields are counted
    // from the last ')'. Field 22, the start time in clock ticks since boot, is then the 20th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
    if (!Number.isSafeInteger(ticks)) return undefined
    return bootTimeMs + ticks * 1000 / CLOCK_TICKS_PER_SECOND
  } catch {
    return undefined // gone meanwhile, or /proc hidden (hidepid)
  }
}

/** How long removeNow() goes on emptying a folder that something still writes into. */
const REMOVE_NOW_MS = 2000

/** How long removeNow() sleeps between tries: the writers (or whoever holds a file open) get the processor. */
const REMOVE_NOW_PAUSE_MS = 5

/** Errors after which removeNow() tries again: a file added meanwhile, or (Windows) one still held open. */
const REMOVE_NOW_RETRY = new Set(['ENOTEMPTY', 'EEXIST', 'EBUSY', 'EPERM'])

/**
 * Removes a folder and what is in it, synchronously (for a signal handler), while writes begun before the signal may
 * still add files to it: libuv's threads go on with a copy while the main thread is here. Node 20's rmSync empties a
 * folder once and then only retries removing it, so a file added in between failed it with ENOTEMPTY and left the
 * folder behind (seen with publish --with-files, Ctrl-C during its copies); each try here empties it again. On
 * Windows a file another process holds open cannot be removed (EBUSY, EPERM) until it is closed: tried again too.
 */
export function removeNow (path: string): void {
  const until = Date.now() + REMOVE_NOW_MS
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (;;) {
    try {
      rmSync(path, { recursive: true, force: true })
      return
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === undefined || !REMOVE_NOW_RETRY.has(code) || Date.now() > until) throw err
    }
    // A synchronous sleep (nothing else may run in a signal handler), not a busy loop that competes with the writers.
    Atomics.wait(pause, 0, 0, REMOVE_NOW_PAUSE_MS)
  }
}

/**
 * Until the returned function is called, SIGINT and SIGTERM run `undo` (synchronously: the process exits right
 * after, 130 or 143, as a shell reports a process the signal ended) instead of killing the process with its work
 * half done on disk.
 */
export function undoOnSignal (undo: (signal: NodeJS.Signals) => void): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    try {
      undo(signal)
    } catch (err) {
      // One line, not an uncaught exception from the signal handler.
      printError(err)
    }
    process.exit(signalExitCode(signal))
  }
  process.once('SIGINT', handler)
  process.once('SIGTERM', handler)
  return () => {
    process.off('SIGINT', handler)
    process.off('SIGTERM', handler)
  }
}

/**
 * An AbortSignal that the first SIGINT or SIGTERM (`shutdown` resolving) aborts: what a long-running command waits
 * for before its main loop (a site key's first record, its first version) ends on that signal too, as `get` does,
 * rather than only on a second one.
 */
export function abortOnShutdown (shutdown: Promise<NodeJS.Signals>): AbortSignal {
  const controller = new AbortController()
  void shutdown.then((signal) => { controller.abort(new InterruptedError(interruptedBy(signal), signal)) })
  return controller.signal
}
