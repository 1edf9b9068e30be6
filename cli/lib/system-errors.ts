/**
 * Errors from the operating system (errno codes) said in words: `ENOENT: no such file or directory, mkdtemp
 * '/x/peersite-serve-XXXXXX'` or `getaddrinfo EAI_AGAIN host` mean something to a programmer, not to a user.
 * Each place that touches the file system or the network names what it was doing; this file says why it failed.
 */
import { UsageError } from '../../engine/errors.js'

const REASONS: Record<string, string> = {
  ENOENT: 'it does not exist',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'the name is longer than the file system allows',
  ELOOP: 'too many symbolic links',
  EEXIST: 'it already exists',
  EMFILE: 'too many open files',
  EINVAL: 'the file system refuses this name',
  EILSEQ: 'the file system refuses the characters of this name',
  EADDRINUSE: 'the port is already in use',
  EADDRNOTAVAIL: 'no such local address',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name cannot be resolved (no DNS answer)',
  EAI_NONAME: 'no such host',
  EAI_FAIL: 'the host name cannot be resolved'
}

/** The errno code of a Node system error, if it is one. */
export function errnoCode (err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined
  const { code, syscall } = err as NodeJS.ErrnoException
  // A system error names its system call; our own errors (PeersiteError's ERR_*) do not.
  return typeof code === 'string' && typeof syscall === 'string' && /^E[A-Z0-9_]+$/.test(code) ? code : undefined
}

/** Why a system call failed, in words ("it does not exist"); the original message for an unknown code. */
export function systemReason (err: unknown): string {
  const code = errnoCode(err)
  const reason = code === undefined ? undefined : REASONS[code]
  if (reason !== undefined) return reason
  return err instanceof Error ? err.message : String(err)
}

/** `cannot <what>: <reason>` as a UsageError (one line, non-zero exit); anything but a system error is returned as is. */
export function describeSystemError (err: unknown, what: string): unknown {
  if (errnoCode(err) === undefined) return err
  return new UsageError(`cannot ${what}: ${systemReason(err)}`)
}

/** Shortens a path for a one-line message (a 3000-level path is 6000 characters). */
export function shortPath (path: string, max = 100): string {
  return path.length <= max ? path : `${path.slice(0, max / 2 - 2)}...${path.slice(-(max / 2 - 2))}`
}

/**
 * The last resort for a system error no caller described: "mkdtemp /x/peersite-serve-XXXXXX: it does not exist"
 * instead of "ENOENT: no such file or directory, mkdtemp '/x/...'". Undefined for anything else.
 */
export function systemErrorLine (err: unknown): string | undefined {
  if (errnoCode(err) === undefined) return undefined
  const e = err as NodeJS.ErrnoException & { hostname?: string }
  const target = e.path ?? e.hostname
  const what = [e.syscall === 'getaddrinfo' ? 'looking up' : e.syscall, target === undefined ? undefined : shortPath(target)]
    .filter((s) => s !== undefined && s !== '').join(' ')
  return `${what === '' ? 'system error' : what}: ${systemReason(err)}`
}

/**
 * The message of anything thrown, with a system error in it said in words: a bare one as systemErrorLine says it, and
 * one that another error wraps (its cause) and quotes at the end of its message with the reason in place of errno's
 * text, as the engine's file store words a file it cannot open: "cannot open <path>: EISDIR: illegal operation on a
 * directory, open '<path>'" becomes "cannot open <path>: it is a folder". Through every wrapper ("peer …: cannot
 * open …"); any other message is returned as it is.
 */
export function errorInWords (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const line = systemErrorLine(err)
  if (line !== undefined) return line
  const cause = err.cause
  if (cause instanceof Error && cause.message !== '' && err.message.endsWith(cause.message)) {
    const said = errnoCode(cause) !== undefined ? systemReason(cause) : errorInWords(cause)
    return err.message.slice(0, err.message.length - cause.message.length) + said
  }
  return err.message
}
