/** "Did you mean": the edit distance, the nearest name, and the one line said for what yargs found unknown. */
import { describe, expect, it } from 'vitest'
import { closest, editDistance, unknownArgumentsLine } from '../../../cli/lib/suggest.js'
import { exitCodeOf } from '../../../cli/main.js'
import { signalExitCode } from '../../../cli/lib/signals.js'
import { ArgumentError, InterruptedError, UsageError } from '../../../engine/errors.js'

describe('editDistance and closest', () => {
  it('counts a swapped pair of letters as one edit', () => {
    expect(editDistance('peice', 'piece')).toBe(1)
    expect(editDistance('publsh', 'publish')).toBe(1)
    expect(editDistance('', 'abc')).toBe(3)
    expect(editDistance('kitten', 'sitting')).toBe(3)
  })

  it('suggests only a name close enough to be a typo', () => {
    const options = ['out', 'tracker', 'piece-length', 'prefetch-limit', 'seed']
    expect(closest('peice-length', options)).toBe('piece-length')
    expect(closest('trakcer', options)).toBe('tracker')
    expect(closest('otu', options)).toBe('out')
    expect(closest('bogus', options)).toBeUndefined()
    expect(closest('x', options)).toBeUndefined()
  })
})

describe('unknownArgumentsLine', () => {
  const known = ['help', 'version', 'dir', 'out', 'piece-length', 'seed', 'port']
  it('names the option once, as typed, with the nearest known one', () => {
    const words = ['publish', 'x', '--peice-length', '1']
    expect(unknownArgumentsLine({ names: ['peice-length', 'peiceLength'], words, known, inCommand: true }))
      .toBe('unknown option --peice-length (did you mean --piece-length?)')
    expect(unknownArgumentsLine({ names: ['peiceLength'], words: ['publish', 'x', '--peiceLength=1'], known, inCommand: true }))
      .toBe('unknown option --peiceLength (did you mean --piece-length?)')
  })

  it('says a negated option as typed, a short one with one dash, and an extra word as an argument', () => {
    expect(unknownArgumentsLine({ names: ['sed'], words: ['publish', 'x', '--no-sed'], known, inCommand: true })).toBe('unknown option --no-sed (did you mean --no-seed?)')
    expect(unknownArgumentsLine({ names: ['z'], words: ['publish', 'x', '-z'], known, inCommand: true })).toBe('unknown option -z')
    expect(unknownArgumentsLine({ names: ['b'], words: ['publish', 'a', 'b'], known, inCommand: true })).toBe('unexpected argument b')
  })

  it('outside a command, an unknown word is an unknown command', () => {
    const commands = ['publish', 'seed', 'get', 'serve']
    expect(unknownArgumentsLine({ names: ['sevre'], words: ['sevre'], known: commands, inCommand: false })).toBe('unknown command sevre (did you mean serve?)')
    expect(unknownArgumentsLine({ names: ['frobnicate'], words: ['frobnicate'], known: commands, inCommand: false })).toBe('unknown command frobnicate')
  })
})

describe('exit status', () => {
  it('is 2 for a wrong command line, 1 for other failures, 128 + the signal for work a signal cut short', () => {
    expect(exitCodeOf(new ArgumentError('invalid --port "x"'))).toBe(2)
    expect(exitCodeOf(new UsageError('folder x does not exist'))).toBe(1)
    expect(exitCodeOf(new Error('boom'))).toBe(1)
    expect(exitCodeOf(new InterruptedError('interrupted', 'SIGINT'))).toBe(130)
    expect(exitCodeOf(new InterruptedError('SIGTERM received', 'SIGTERM'))).toBe(143)
    expect(signalExitCode('SIGINT')).toBe(130)
    expect(signalExitCode('SIGTERM')).toBe(143)
  })
})
