/** Types of scripts/browser-bundles.mjs, for the tests that build a bundle as the build does (test/e2e/budget.test.ts). */
export type Bundle = readonly [entry: string, output: string, format: 'esm' | 'iife', flags: { keyed?: boolean, gateway?: boolean, serveLater?: boolean, plain?: boolean }]
export declare const root: string
export declare const TARGET: string
export declare const BUNDLES: readonly Bundle[]
export declare function bundleOptions (bundle: Bundle): {
  absWorkingDir: string
  plugins: import('esbuild').Plugin[]
  entryPoints: string[]
  format: 'esm' | 'iife'
  bundle: true
  platform: 'browser'
  target: string
  define: Record<string, string>
}
export declare function firstVisitBundle (entry: string): Bundle
