/** Human-readable numbers for status lines and summaries. */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB']

/** Decimal units (1 kB = 1000 B), as network speeds are usually quoted. */
export function formatBytes (bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?'
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${UNITS[unit]}`
}

/** `1 file`, `2 files`: a count and its noun, the noun plural unless the count is 1. */
export function countOf (count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

export function formatRate (bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`
}

export function formatDuration (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const minutes = Math.floor(ms / 60_000)
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`
}

/**
 * The message of anything thrown (or any text) as one line for the terminal, with every control character written
 * as \xNN: a tracker's failure reason, a peer's or a file's name reach our messages as they were sent, and an escape
 * sequence in them would recolour, retitle or clear the user's terminal (ESC, and C1's CSI), a carriage return would
 * overwrite the line. A newline and a tab too: shown as a space, a name holding one could not be told from a name
 * holding a space, and a multi-line message stays one line all the same ("one line per error").
 */
export function terminalLine (text: unknown): string {
  const message = text instanceof Error ? text.message : String(text)
  // eslint-disable-next-line no-control-regex
  return message.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/**
 * The error line on stderr, `peersite: error: <one line>`, that ends a command (cli/main.ts: never a stack trace),
 * for anything thrown or any text.
 */
export function printError (text: unknown): void {
  process.stderr.write(`peersite: error: ${terminalLine(text)}\n`)
}

/** How every warning reads: `peersite: warning: <one line>`. */
export function warningLine (message: string): string {
  return `peersite: warning: ${terminalLine(message)}`
}

/** A warning on stderr. */
export function warn (message: string): void {
  process.stderr.write(`${warningLine(message)}\n`)
}
