/**
 * How hard the property tests push. `npm test` runs a short pass (a few seconds for all of test/unit/fuzz);
 * `npm run fuzz` sets FUZZ_RUNS (default there: 20,000 cases per property) for a long one. FUZZ_SEED replays a
 * failure fast-check reported.
 */
import type { Parameters } from 'fast-check'

const runs = Number(process.env.FUZZ_RUNS ?? '')
/** Cases per property: FUZZ_RUNS, else `short`. */
export function fuzzParams<T> (short: number): Parameters<T> {
  const seed = Number(process.env.FUZZ_SEED ?? '')
  return {
    numRuns: Number.isSafeInteger(runs) && runs > 0 ? runs : short,
    ...(Number.isSafeInteger(seed) && process.env.FUZZ_SEED !== undefined ? { seed } : {})
  }
}

/** The per-test timeout for a property: generous for long runs. */
export const FUZZ_TIMEOUT_MS = Number.isSafeInteger(runs) && runs > 0 ? 30 * 60_000 : 30_000
