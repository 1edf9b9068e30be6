/** Checks shared by the benchmarks: where they run and what they need. */
import { existsSync } from 'node:fs'
import { arch, cpus as cpus_, networkInterfaces, platform, release, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/**
 * WebRTC benchmarks must run inside the private namespace of scripts/in-netns.sh (`npm run bench` does):
 * libdatachannel gathers no loopback candidates, and traffic must not leave the machine.
 */
export function assertInNetns () {
  const v0 = networkInterfaces().v0
  if (process.env.PEERSITE_NETNS !== '1' || v0 === undefined || !v0.some((i) => i.address === '10.77.0.1')) {
    throw new Error('benchmarks must run inside the private network namespace: use `npm run bench` ' +
      '(= sh scripts/in-netns.sh node bench/run-all.mjs) or `sh scripts/in-netns.sh node bench/<file>.mjs`')
  }
}

/** True when `npm run build` has produced dist/ (the CLI and the browser bundle). */
export function distBuilt () {
  return existsSync(join(repoRoot, 'dist', 'cli', 'main.js')) && existsSync(join(repoRoot, 'dist', 'browser', 'peersite.js'))
}

/** Throw a clear error if a benchmark needs dist/ and it is missing. */
export function requireDist (what = 'this benchmark') {
  if (!distBuilt()) throw new Error(`${what} needs the build output in dist/: run \`npm run build\` first`)
}

/** The machine a result was measured on, for result files. */
export function machine () {
  const cpus = cpus_()
  const model = cpus[0]?.model?.trim() ?? 'unknown CPU'
  return {
    cores: cpus.length,
    cpu: model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${platform()} ${release()} ${arch()}`,
    line: `${cpus.length} cores (${model}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ${platform()} ${release()} ${arch()}`
  }
}
