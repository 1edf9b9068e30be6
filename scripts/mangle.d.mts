/** Types of scripts/mangle.mjs, for the tests that check its list (test/unit/mangle.test.ts). */
export declare const MANGLED: readonly string[]
export declare function bundledSources (metafiles: ReadonlyArray<{ inputs: Record<string, unknown> }>): string[]
export declare function browserSources (): Promise<string[]>
export declare function mangleCache (sources: readonly string[]): Record<string, string>
export declare function mangleOptions (): Promise<{ mangleProps: RegExp, mangleCache: Record<string, string> }>
