/**
 * A live one-line status on stderr: redrawn in place on a terminal, printed as a plain line every few seconds when
 * stderr is a file or a pipe (logs should not fill with carriage returns), where a line that has not changed is
 * printed again only once a minute (an idle seeder under a service manager wrote the same line 17,280 times a day).
 */
import type { SwarmStats } from './swarm.js'
import { formatBytes, formatRate, terminalLine, warningLine } from './format.js'

export interface StatusLine {
  /** Redraw now (e.g. after an event). */
  update (): void
  /** Stop redrawing; leaves the last line on screen, ended with a newline. */
  stop (): void
}

export interface StatusLineInit {
  stream?: NodeJS.WriteStream
  /** Redraw period on a terminal, ms. Default 1000. */
  ttyIntervalMs?: number
  /** Print period otherwise, ms. Default 5000. */
  plainIntervalMs?: number
  /** Otherwise, how long a line that has not changed is not printed again, ms. Default 60000. */
  plainRepeatMs?: number
}

export function startStatusLine (render: () => string, init: StatusLineInit = {}): StatusLine {
  const stream = init.stream ?? process.stderr
  const tty = stream.isTTY === true
  let drawn = false
  let printed: { line: string, at: number } | undefined
  const draw = (): void => {
    // A site's name comes from its torrent, which anyone may have written: no escape sequence of it reaches the terminal.
    let line = terminalLine(render())
    if (tty) {
      // Wider than the terminal would wrap and break the redraw; a pty that reports no size gets the full line.
      const columns = stream.columns ?? 0
      if (columns > 10 && line.length > columns - 1) line = line.slice(0, columns - 2) + '…'
      stream.write(`\r\x1b[2K${line}`)
      drawn = true
    } else {
      const now = Date.now()
      if (printed !== undefined && printed.line === line && now - printed.at < (init.plainRepeatMs ?? 60_000)) return
      printed = { line, at: now }
      stream.write(line + '\n')
    }
  }
  draw()
  const timer = setInterval(draw, tty ? init.ttyIntervalMs ?? 1000 : init.plainIntervalMs ?? 5000)
  timer.unref()
  return {
    update: draw,
    stop: () => {
      clearInterval(timer)
      if (tty && drawn) stream.write('\n')
    }
  }
}

/**
 * "2 peers · up 1.2 MB (300 kB/s) · down 0 B · ratio 0.52" (the download rate only when there is one). The ratio is uploaded / max(downloaded, site size):
 * for a seeder that made the torrent (downloaded 0), how many full copies it has served.
 */
export function renderSwarmStatus (label: string, stats: SwarmStats, siteLength: number): string {
  const base = Math.max(stats.downloaded, siteLength, 1)
  const ratio = stats.uploaded / base
  const peers = `${stats.peers} peer${stats.peers === 1 ? '' : 's'}`
  const down = stats.downloadRate > 0 ? ` (${formatRate(stats.downloadRate)})` : ''
  return `${label}: ${peers} · up ${formatBytes(stats.uploaded)} (${formatRate(stats.uploadRate)}) · ` +
    `down ${formatBytes(stats.downloaded)}${down} · ratio ${ratio.toFixed(2)}`
}

/**
 * Print a message above a live status line without garbling it. On a terminal the status line is redrawn below
 * the message; in a file or a pipe it is not (it prints itself every few seconds: redrawing after each message
 * would double every line of `serve --log-requests`).
 */
export function printAbove (status: StatusLine | undefined, message: string, stream: Pick<NodeJS.WriteStream, 'isTTY' | 'write'> = process.stderr): void {
  if (stream.isTTY === true) {
    stream.write(`\r\x1b[2K${message}\n`)
    status?.update()
  } else {
    stream.write(message + '\n')
  }
}

/** How many distinct warnings warningPrinter remembers (a few hundred kB at most). */
export const WARNINGS_REMEMBERED = 1000

/**
 * Reports each distinct warning once (a flapping tracker would otherwise flood the terminal). It remembers the
 * WARNINGS_REMEMBERED most recently seen, forgetting the one seen least recently first: a warning that keeps
 * recurring stays quiet however long the command runs, a new one is always printed (a long-running mirror or seed
 * never hides a new problem), and one not seen for long may be printed again, which tells that it came back.
 */
export function warningPrinter (getStatus: () => StatusLine | undefined): (message: string) => void {
  // A Set iterates in insertion order: deleting and adding again moves a message to the end, so the first is the
  // least recently seen.
  const seen = new Set<string>()
  return (message) => {
    const known = seen.delete(message)
    seen.add(message)
    if (known) return
    if (seen.size > WARNINGS_REMEMBERED) seen.delete(seen.values().next().value!)
    printAbove(getStatus(), warningLine(message))
  }
}
