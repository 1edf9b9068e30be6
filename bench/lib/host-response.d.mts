/** Types of host-response.mjs, for test/e2e/many-files.test.ts. */
import type { Request } from 'playwright-core'

export declare function hostResponse (request: Request): Promise<{ path: string, end: number, raw: number, gz: number } | undefined>
