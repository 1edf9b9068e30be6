/** Types of scripts/mangle.mjs, for the tests that check its list (test/unit/mangle.test.ts). */
export declare const MANGLED: readonly string[]
export declare function mangleCache (): Record<string, string>
export declare function mangleOptions (): { mangleProps: RegExp, mangleCache: Record<string, string> }
