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

export function formatRate (bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`
}

export function formatDuration (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const minutes = Math.floor(ms / 60_000)
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`
}

/** The message of anything thrown, on one line (a multi-line message would break "one line per error"). */
export function oneLine (err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.replace(/\s*\n\s*/g, ' ').trim()
}
