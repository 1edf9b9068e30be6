/**
 * "Did you mean": yargs' own message for a mistyped option lists it twice (`Unknown arguments: peice-length,
 * peiceLength`, its camelCase copy) and suggests nothing. This says it in one line with the nearest known name:
 * `unknown option --peice-length (did you mean --piece-length?)`, `unknown command pubish (did you mean publish?)`.
 */

/**
 * Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`: the optimal string alignment distance,
 * so that a swapped pair of letters (`peice`) counts as one typo, as people make them.
 */
export function editDistance (a: string, b: string): number {
  const rows: number[][] = []
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i]
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j)
        continue
      }
      const up = rows[i - 1]!
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(up[j]! + 1, row[j - 1]! + 1, up[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1)
      row.push(d)
    }
    rows.push(row)
  }
  return rows[a.length]![b.length]!
}

/** The candidate nearest to `word`, if it is close enough to be a typo of it (1 edit for short words, 2 from 5 letters). */
export function closest (word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length < 5 ? 1 : 2
  let best: string | undefined
  let bestDistance = limit + 1
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/** `pieceLength` -> `piece-length`. */
function kebab (name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

/** How an option was typed: `--name`, `-n`, or `--no-name` (yargs reports a negated one as `name`). */
function typedFlag (name: string, words: readonly string[]): { flag: string, negated: boolean } {
  const dashes = name.length === 1 ? '-' : '--'
  const given = (flag: string): boolean => words.some((w) => w === flag || w.startsWith(`${flag}=`))
  if (!given(`${dashes}${name}`) && given(`--no-${name}`)) return { flag: `--no-${name}`, negated: true }
  return { flag: `${dashes}${name}`, negated: false }
}

export interface UnknownArguments {
  /** What yargs calls unknown (its message's list), camelCase copies included. */
  readonly names: readonly string[]
  /** The command line as given. */
  readonly words: readonly string[]
  /** The running command's options (kebab-case, as declared), or the commands when none runs. */
  readonly known: readonly string[]
  /** Whether a command runs: if not, an unknown word is an unknown command. */
  readonly inCommand: boolean
}

/**
 * One line for what yargs found unknown: each name once (the kebab-case one, not its camelCase copy), the nearest
 * known option or command when one is close. Undefined when nothing is left to name.
 */
export function unknownArgumentsLine (u: UnknownArguments): string | undefined {
  const names = u.names.filter((n) => n === kebab(n) || !u.names.includes(kebab(n)))
  const flagged = (n: string): boolean => u.words.some((w) => /^-/.test(w) && (w.replace(/^--?(no-)?/, '').split('=')[0] === n))
  const parts = names.map((name) => {
    if (!u.inCommand) {
      const near = closest(name, u.known)
      return `unknown command ${name}${near !== undefined ? ` (did you mean ${near}?)` : ''}`
    }
    if (!flagged(name)) return `unexpected argument ${name}`
    const { flag, negated } = typedFlag(name, u.words)
    const near = closest(kebab(name), u.known.filter((k) => k.length > 1))
    return `unknown option ${flag}${near !== undefined ? ` (did you mean --${negated ? 'no-' : ''}${near}?)` : ''}`
  })
  return parts.length === 0 ? undefined : parts.join('; ')
}
