/**
 * V8 optimizes a function (TurboFan, on background threads) once it has spent an "interrupt budget" of bytecode:
 * worth it in a long run, not in a command that ends within a second. `publish --no-seed` of 10,000 small files kept
 * V8's four background threads busy for about 0.5 s of CPU compiling code that had run a few thousand times (yargs,
 * Node's fs wrappers, the page scanners, the walk), on a 2-core machine where the two threads reading and hashing
 * the files then had to share the cores with them; most of that code never ran again (README "Where publish time
 * goes"). For `publish`, each function's budget is 16 times V8's default (Node 20: 67,584): code that stays hot (a
 * site of 100,000 files, or the seeder that publish becomes) is still optimized, later. A flag changed while V8 runs
 * applies to the budgets it hands out from then on, and to the threads started later (V8's flags are per process).
 *
 * Imported first by cli/main.ts, so that it runs before the command-line parser's code does.
 */
import { setFlagsFromString } from 'node:v8'

/** The budget for `publish`: 16 x 67,584 (measured: 4x kept most of the compiling, 16x removed nearly all). */
export const PUBLISH_INTERRUPT_BUDGET = 16 * 67_584

/** The command of an argument list: its first word that is not an option. */
export function commandOf (args: readonly string[]): string | undefined {
  return args.find((a) => !a.startsWith('-'))
}

if (commandOf(process.argv.slice(2)) === 'publish') setFlagsFromString(`--interrupt-budget=${PUBLISH_INTERRUPT_BUDGET}`)
