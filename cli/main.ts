#!/usr/bin/env node
/**
 * The peersite command line. Each verb lives in commands/<verb>.ts as { command, describe, builder, handler }.
 *
 * Errors: one line on stderr, `peersite: error: <what is wrong>`, never a stack trace. Exit status (README "Exit
 * status"): 2 for a wrong command line (unknown option or command, a bad value, a missing argument, an option
 * given twice: yargs' checks and ArgumentError alike), 1 for everything else (a missing folder, a port in use, a
 * failed download), 130 / 143 for work cut short by SIGINT / SIGTERM (InterruptedError, cli/lib/signals.ts). Set
 * PEERSITE_DEBUG=1 to get the stack trace of an unexpected error.
 */
// First: it tunes V8 for a short run of `publish` before any other module's code runs (cli/lib/short-run.ts).
import './lib/short-run.js'
import { readFileSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { ArgumentError, InterruptedError, PeersiteError } from '../engine/errors.js'
import * as gateway from './commands/gateway.js'
import * as get from './commands/get.js'
import * as loader from './commands/loader.js'
import * as mirror from './commands/mirror.js'
import * as publish from './commands/publish.js'
import * as seed from './commands/seed.js'
import * as serve from './commands/serve.js'
import * as tracker from './commands/tracker.js'
import { printError } from './lib/format.js'
import { packageInfo } from './lib/package.js'
import { commandOf } from './lib/short-run.js'
import { signalExitCode } from './lib/signals.js'
import { closest, unknownArgumentsLine } from './lib/suggest.js'
import { errorInWords } from './lib/system-errors.js'

export const commands = [publish, seed, get, serve, tracker, gateway, loader, mirror]

/**
 * `--piece-length -16KiB`: yargs reads a value that starts with '-' as a group of short flags (-1 -6 -K -i -B) and
 * reports five unknown arguments. No flag of this CLI starts with a digit, so such a word is the value of the
 * option before it: passed as `--piece-length=-16KiB`, its own check then names the problem.
 */
export function joinNegativeValues (args: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const next = args[i + 1]
    if (/^--[a-z][a-z0-9-]*$/i.test(arg) && next !== undefined && /^-[0-9.]/.test(next)) {
      out.push(`${arg}=${next}`)
      i++
    } else {
      out.push(arg)
    }
  }
  return out
}

/** Not in yargs' typings: the options of the command that runs, by name, and which of them take a list or a number. */
function optionsOf (parser: object): { key: Record<string, unknown>, array: string[], number: string[] } {
  return (parser as { getOptions: () => { key: Record<string, unknown>, array: string[], number: string[] } }).getOptions()
}

/**
 * A number option given something else (`--port abc`): yargs makes it NaN, and the commands' checks would echo
 * "NaN"; given nothing (`--port ""`), 0. Refused here, quoting what was typed (found in the command line:
 * `--port abc` or `--port=abc`).
 */
function numberValues (argv: Record<string, unknown>, parser: object, words: readonly string[]): void {
  for (const key of optionsOf(parser).number) {
    if (argv[key] === undefined) continue
    const camel = key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
    let typed: string | undefined
    words.forEach((word, i) => {
      for (const flag of [`--${key}`, `--${camel}`]) {
        if (word === flag) typed = words[i + 1] ?? ''
        else if (word.startsWith(`${flag}=`)) typed = word.slice(flag.length + 1)
      }
    })
    if (typed !== undefined && typed.trim() === '') throw new ArgumentError(`--${key} needs a number`)
    if (Number.isNaN(argv[key])) throw new ArgumentError(`invalid --${key} "${typed ?? String(argv[key])}": expected a number`)
  }
}

/** What each option that names a path or a URL needs, in the line that refuses it empty. */
const PATH_OPTIONS: Record<string, string> = { out: 'a folder', dir: 'a folder', path: 'a folder', key: 'a file', 'web-seed': 'a URL' }

/**
 * An empty argument or path option (`publish ""`, `--out ""`, as `publish "$SITE"` gives when SITE is unset): a path
 * resolved from it is the current folder, which publish then published, loader wrote into, and seed or --key named
 * as "" in a puzzling line. A usage error naming the argument instead.
 */
function emptyValues (argv: Record<string, unknown>, parser: object, words: readonly string[]): void {
  const lone = words.includes('-')
  const verb = String((argv._ as unknown[])[0])
  const module = commands.find((c) => c.command.split(' ')[0] === verb)
  const positionals = [...(module?.command ?? '').matchAll(/<(\w+)(?:\.\.)?>/g)].map((m) => m[1]!)
  // Only "" itself: a folder or file named " " is a name like any other (`publish " "` publishes it).
  const empty = (value: unknown): boolean => Array.isArray(value) ? value.some(empty) : value === ''
  for (const name of positionals) {
    // yargs reads a lone "-" (the usual name for stdin) as no value at all.
    if (empty(argv[name])) throw new ArgumentError(`${verb}: the <${name}> argument is empty${lone ? ' (a lone "-" is not read as a name: write ./- for a file or folder named "-")' : ''}`)
  }
  for (const key of Object.keys(optionsOf(parser).key)) {
    const needs = PATH_OPTIONS[key]
    if (needs !== undefined && !positionals.includes(key) && empty(argv[key])) throw new ArgumentError(`--${key} needs ${needs}`)
  }
}

/** Where a line refusing `words` points for help: the typed command's own help, else the list of commands. */
function helpCommandFor (words: readonly string[]): string {
  const typed = commandOf(words)
  return typed !== undefined && commandNames.includes(typed) ? `peersite ${typed} --help` : 'peersite --help'
}

/** Thrown by yargs for a command line it cannot parse. */
class CommandLineError extends Error {}

/** The verbs of `commands`: `publish <dir>` -> `publish`. */
const commandNames = commands.map((c) => c.command.split(' ')[0]!)

/**
 * yargs' messages for an unknown command or option, said as cli/lib/suggest.ts does: one line naming what was typed,
 * with the nearest known name (`unknown option --peice-length (did you mean --piece-length?)`); others unchanged.
 */
function rephrase (message: string, parser: object, words: readonly string[]): string {
  const typed = commandOf(words)
  // .recommendCommands(): yargs found a command close to the first word, and names only its guess.
  const guess = /^Did you mean (\S+)\?$/.exec(message)
  if (guess !== null && typed !== undefined) return `unknown command ${typed} (did you mean ${guess[1]!}?)`
  // No command, and an option close to one of the two that need none (`peersite --verison`): that typo, not "name a
  // command", is what the line is about.
  if (typed === undefined && message.startsWith('name a command')) {
    for (const word of words) {
      const flag = /^--?([^-=][^=]*)/.exec(word)
      const near = flag === null ? undefined : closest(flag[1]!, ['version', 'help'])
      if (flag !== null && near !== undefined && flag[1] !== near) return `unknown option ${word.split('=')[0]!} (did you mean --${near}?)`
    }
  }
  // yargs' words for a missing argument or option ("Not enough non-option arguments: got 0, need at least 1",
  // "Missing required argument: out") name neither the command nor what it needs: said as its usage line has it.
  const module = commands.find((c) => c.command.split(' ')[0] === typed)
  if (module !== undefined && /^Not enough non-option arguments/.test(message)) {
    return `peersite ${typed!} needs ${module.command.slice(typed!.length + 1).replace('..>', '>')}`
  }
  const required = /^Missing required arguments?: (.*)$/.exec(message)
  if (module !== undefined && required !== null) {
    return `peersite ${typed!} needs ${required[1]!.split(', ').map((name) => `--${name}`).join(' and ')}`
  }
  const unknown = /^Unknown arguments?: (.*)$/s.exec(message)
  if (unknown === null) return message
  type Internals = { getInternalMethods: () => { getContext: () => { commands: string[] } } }
  const inCommand = (parser as Internals).getInternalMethods().getContext().commands.length > 0
  const known = inCommand ? Object.keys(optionsOf(parser).key) : commandNames
  return unknownArgumentsLine({ names: unknown[1]!.split(', '), words, known, inCommand }) ?? message
}

/**
 * An option that takes one value given twice (`--out a --out b`): yargs makes it a list, which no command expects
 * (a path argument that is an Array, `gateway --host a --host b` listening everywhere). A usage error instead, for
 * every command's options at once; the repeatable ones (`array: true`, as --tracker) are lists by design.
 */
function singleValues (argv: Record<string, unknown>, parser: object): void {
  const options = optionsOf(parser)
  for (const key of Object.keys(options.key)) {
    if (!options.array.includes(key) && Array.isArray(argv[key])) throw new CommandLineError(`--${key} was given twice`)
  }
}

/** The exit status for an error a command threw (README "Exit status"). */
export function exitCodeOf (err: unknown): number {
  if (err instanceof ArgumentError) return 2
  if (err instanceof InterruptedError) return signalExitCode(err.signal)
  return 1
}

/**
 * An argument whose bytes are not UTF-8 (a name from another system: `publish $'caf\xe9'`) reaches Node with U+FFFD
 * in place of the bad bytes: a folder that exists "does not exist", and --out made a folder of another name than
 * the one typed. On Linux the arguments' bytes are in /proc/self/cmdline; the line refusing such an argument names
 * it with its bad bytes as \xNN. Read only when an argument holds U+FFFD, which a name may also hold validly.
 */
async function argumentNotUtf8 (args: readonly string[]): Promise<string | undefined> {
  if (!args.some((a) => a.includes('\uFFFD'))) return undefined
  let cmdline: Buffer
  try {
    cmdline = readFileSync('/proc/self/cmdline')
  } catch {
    return undefined // not Linux: the bytes cannot be had
  }
  const all: Buffer[] = []
  for (let start = 0; start < cmdline.length;) {
    const end = cmdline.indexOf(0, start)
    all.push(cmdline.subarray(start, end === -1 ? cmdline.length : end))
    start = end === -1 ? cmdline.length : end + 1
  }
  // The arguments come last, after node's own and the script's path; main() called with others reads none.
  const raw = all.slice(-args.length)
  if (raw.length !== args.length || raw.some((bytes, i) => bytes.toString('utf8') !== args[i])) return undefined
  const strict = new TextDecoder('utf-8', { fatal: true })
  for (const bytes of raw) {
    try {
      strict.decode(bytes)
    } catch {
      const { escapeName } = await import('./lib/walk.js')
      return `argument ${escapeName(bytes)} is not UTF-8: peersite reads its arguments as UTF-8 (rename the file or folder)`
    }
  }
  return undefined
}

/** Runs the CLI; resolves to the exit status. */
export async function main (args: string[]): Promise<number> {
  const notUtf8 = await argumentNotUtf8(args)
  if (notUtf8 !== undefined) {
    printError(notUtf8)
    return 2
  }
  const words = joinNegativeValues(args)
  const parser = yargs(words)
    .scriptName('peersite')
    .usage('$0 <command> [options]\n\nServerless web hosting over BitTorrent: the visitors\' browsers are the CDN.')
    // yargs' typings cannot express a heterogeneous list of command modules; each module is typed on its own.
    .command(commands as unknown as Array<import('yargs').CommandModule>)
    .demandCommand(1, 'name a command: publish, seed, get, serve, tracker, gateway, loader or mirror')
    .recommendCommands()
    .strict()
    .middleware((argv) => {
      singleValues(argv, parser)
      numberValues(argv, parser, words)
      emptyValues(argv, parser, words)
    })
    // English, as every other line of this CLI (yargs would otherwise translate only its own messages).
    .locale('en')
    .version(packageInfo().version)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns ?? 80))
    .fail((message, err) => {
      if (err !== undefined && err !== null) throw err
      throw new CommandLineError(rephrase(message, parser, words))
    })
  skipHelpCache(parser)
  try {
    await parser.parseAsync()
    return 0
  } catch (err) {
    if (err instanceof CommandLineError) {
      // A suggestion is the help this line needs; otherwise, where to look: the command's own help lists its
      // arguments and options, `peersite --help` only the commands.
      const hint = err.message.includes('(did you mean ') ? '' : ` (see ${helpCommandFor(words)})`
      printError(`${err.message}${hint}`)
      return 2
    }
    if (process.env.PEERSITE_DEBUG === '1' && !(err instanceof PeersiteError)) console.error(err)
    printError(errorInWords(err))
    return exitCodeOf(err)
  }
}

/**
 * yargs renders the running command's whole help text into a cache as it starts the command's handler (20-40 ms of
 * text layout on every run, a tenth of publishing 10,000 files: README "Where publish time goes"), for a later
 * showHelp() that this CLI never makes once a command runs (its .fail() throws instead of printing help). yargs
 * has no option for it: its internal usage object, when there, is told not to.
 */
function skipHelpCache (parser: object): void {
  type Internals = { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } | undefined } | undefined }
  const usage = (parser as Internals).getInternalMethods?.()?.getUsageInstance?.()
  if (typeof usage?.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {}
}

function isMainModule (): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isMainModule()) {
  main(hideBin(process.argv)).then((code) => {
    // Seeder and tracker sockets are closed by now; exiting explicitly also ends native WebRTC threads.
    process.exit(code)
  }, (err: unknown) => {
    printError(err)
    process.exit(1)
  })
}
