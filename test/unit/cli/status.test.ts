/** The CLI's live status line: messages printed above it. */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { printAbove, startStatusLine, WARNINGS_REMEMBERED, warningPrinter, type StatusLine } from '../../../cli/lib/status.js'

function fakeStream (isTTY: boolean): { isTTY: boolean, out: string, write: (s: string) => boolean } {
  const stream = { isTTY, out: '', write: (s: string) => { stream.out += s; return true } }
  return stream
}

function countingStatus (): StatusLine & { updates: number } {
  const status = { updates: 0, update: () => { status.updates++ }, stop: () => {} }
  return status
}

describe('printAbove', () => {
  it('on a terminal: clears the status line, prints the message, redraws the status below it', () => {
    const stream = fakeStream(true)
    const status = countingStatus()
    printAbove(status, 'GET /a -> 200', stream)
    expect(stream.out).toBe('\r\x1b[2KGET /a -> 200\n')
    expect(status.updates).toBe(1)
  })

  it('in a file or a pipe: prints the message only (the status prints itself every few seconds)', () => {
    const stream = fakeStream(false)
    const status = countingStatus()
    for (let i = 0; i < 3; i++) printAbove(status, `GET /${i} -> 200`, stream)
    expect(stream.out).toBe('GET /0 -> 200\nGET /1 -> 200\nGET /2 -> 200\n')
    expect(status.updates).toBe(0)
  })
})

describe('startStatusLine', () => {
  afterEach(() => { vi.useRealTimers() })

  // An idle seeder's line every 5 s filled a log with the same line (17,280 a day); a change still prints at once.
  it('in a file or a pipe: a line that has not changed is printed again only once a minute', () => {
    vi.useFakeTimers()
    const stream = fakeStream(false)
    let text = 'seeding site: 0 peers · up 0 B (0 B/s)'
    const status = startStatusLine(() => text, { stream: stream as unknown as NodeJS.WriteStream })
    vi.advanceTimersByTime(30_000)
    expect(stream.out.split('\n').filter((l) => l !== '')).toHaveLength(1)
    text = 'seeding site: 1 peer · up 1 kB (200 B/s)'
    vi.advanceTimersByTime(5_000)
    expect(stream.out.split('\n').filter((l) => l !== '')).toHaveLength(2)
    vi.advanceTimersByTime(60_000)
    status.stop()
    expect(stream.out.split('\n').filter((l) => l !== '')).toEqual([
      'seeding site: 0 peers · up 0 B (0 B/s)', 'seeding site: 1 peer · up 1 kB (200 B/s)', 'seeding site: 1 peer · up 1 kB (200 B/s)'
    ])
  })
})

describe('warningPrinter', () => {
  afterEach(() => { vi.restoreAllMocks() })

  /** The warnings written to stderr while `fn` runs. */
  function printed (fn: () => void): string[] {
    const lines: string[] = []
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter((l) => l !== ''))
      return true
    })
    fn()
    vi.restoreAllMocks()
    return lines
  }

  it('prints each distinct warning once while it keeps recurring', () => {
    const lines = printed(() => {
      const onWarning = warningPrinter(() => undefined)
      for (let i = 0; i < 3; i++) for (const m of ['tracker a: refused', 'tracker b: refused']) onWarning(m)
    })
    expect(lines).toEqual(['peersite: warning: tracker a: refused', 'peersite: warning: tracker b: refused'])
  })

  // It stopped printing anything new after 100 distinct warnings: a long-running mirror or seed then hid every new
  // problem for ever.
  it('still prints a new warning after many distinct ones, and one not seen for long prints again', () => {
    const count = WARNINGS_REMEMBERED + 50
    const lines = printed(() => {
      const onWarning = warningPrinter(() => undefined)
      onWarning('recurring')
      for (let i = 0; i < count; i++) {
        onWarning(`peer ${i}: bad message`)
        // One that keeps coming back stays remembered (the least recently seen are forgotten first).
        onWarning('recurring')
      }
      onWarning('a new problem')
      onWarning('peer 0: bad message') // forgotten long ago: said again
      onWarning(`peer ${count - 1}: bad message`) // seen just now: not
    })
    expect(lines).toHaveLength(1 + count + 2)
    expect(lines.filter((l) => l === 'peersite: warning: recurring')).toHaveLength(1)
    expect(lines.slice(-2)).toEqual(['peersite: warning: a new problem', 'peersite: warning: peer 0: bad message'])
  })
})
