/** The CLI's live status line: messages printed above it. */
import { describe, expect, it } from 'vitest'
import { printAbove, type StatusLine } from '../../../cli/lib/status.js'

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
