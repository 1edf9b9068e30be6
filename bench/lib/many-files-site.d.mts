/** Types of many-files-site.mjs, for the tests that write the same site (test/helpers/many-files.ts). */
export declare function pagePath (i: number): string
export declare function writeManyFilesSite (dir: string, count: number): Promise<{
  deep: { path: string, h1: string }
  files: number
  bytes: number
}>
