/** Small formatting helpers shared by the benchmarks. */

/** A GitHub-flavoured markdown table. `align` per column: 'l' or 'r' (default: numbers right). */
export function markdownTable (headers, rows, align = []) {
  const cells = rows.map((r) => r.map((c) => String(c)))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)))
  const right = (i) => (align[i] ?? (i === 0 ? 'l' : 'r')) === 'r'
  const pad = (s, i) => (right(i) ? s.padStart(widths[i]) : s.padEnd(widths[i]))
  const line = (r) => `| ${r.map((c, i) => pad(c ?? '', i)).join(' | ')} |`
  const sep = `|${widths.map((w, i) => (right(i) ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`
  return [line(headers), sep, ...cells.map(line)].join('\n')
}

/** Megabytes (10^6 bytes) per second. */
export function mbps (bytes, ms) {
  return bytes / 1e6 / (ms / 1000)
}

export function fmt (n, digits = 1) {
  return Number.isFinite(n) ? n.toFixed(digits) : '-'
}

export function median (values) {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** A positive number from an environment variable, or the default. */
export function envNumber (name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`)
  return n
}
