/** Text from elsewhere on the terminal (cli/lib/format.ts terminalLine). */
import { describe, expect, it, vi } from 'vitest'
import { printError, terminalLine, warningLine } from '../../../cli/lib/format.js'

describe('terminalLine', () => {
  // A newline was shown as a space and a tab as \x09: "a\nb.txt" could not be told from "a b.txt".
  it('writes every control character as \\xNN, a newline and a tab too, so the text stays one line', () => {
    expect(terminalLine('a\nb.txt')).toBe('a\\x0ab.txt')
    expect(terminalLine('a\tb.txt')).toBe('a\\x09b.txt')
    expect(terminalLine('a b.txt')).toBe('a b.txt')
    expect(terminalLine('\x1b[2J\r\x07\x7f\x9b')).toBe('\\x1b[2J\\x0d\\x07\\x7f\\x9b')
    expect(terminalLine(new Error('cannot open "x\ny"'))).toBe('cannot open "x\\x0ay"')
    expect(warningLine('tracker ws://a: bad\r\n')).toBe('peersite: warning: tracker ws://a: bad\\x0d\\x0a')
  })

  it('leaves other text as it is', () => {
    expect(terminalLine('café · 日本 \\x41')).toBe('café · 日本 \\x41')
    expect(terminalLine(42)).toBe('42')
  })
})

describe('printError', () => {
  // cli/main.ts, signals.ts and paths.ts each wrote the line themselves; paths.ts's "interrupted; nothing was written
  // to <out>" passed the folder's name to the terminal as it was.
  it('writes one line, `peersite: error: <text>`, to stderr, with the text\'s control characters as \\xNN', () => {
    const written: string[] = []
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => { written.push(String(chunk)); return true })
    try {
      printError(new Error('cannot open "x\ny"'))
      printError('interrupted; nothing was written to /tmp/out\x1b]0;title\x07')
      printError(42)
    } finally {
      write.mockRestore()
    }
    expect(written).toEqual([
      'peersite: error: cannot open "x\\x0ay"\n',
      'peersite: error: interrupted; nothing was written to /tmp/out\\x1b]0;title\\x07\n',
      'peersite: error: 42\n'
    ])
  })
})

describe('countOf', () => {
  // publish, get and seed printed "1 files".
  it('counts with the noun singular for 1 and plural otherwise', async () => {
    const { countOf } = await import('../../../cli/lib/format.js')
    expect(countOf(1, 'file')).toBe('1 file')
    expect(countOf(0, 'file')).toBe('0 files')
    expect(countOf(10000, 'file')).toBe('10000 files')
  })
})
