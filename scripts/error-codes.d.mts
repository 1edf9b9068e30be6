/** Types of scripts/error-codes.mjs, for its test (test/unit/error-codes.test.ts). */
export declare const CODED: readonly string[]
export declare function errorCodeTable (): Map<string, { code: string, where: string }>
export declare function codeMessages (source: string, fileName: string, table: ReadonlyMap<string, { code: string }>): string
export declare function errorCodesPlugin (): import('esbuild').Plugin
