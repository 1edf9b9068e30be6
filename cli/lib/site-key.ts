/**
 * The site key file (`publish --key <file>`): the ed25519 key whose public half is the site's permanent address
 * (BEP 46 `magnet:?xs=urn:btpk:<public key hex>`) and whose secret half signs every new version. A small JSON file:
 *
 *   {
 *     "type": "peersite-site-key",
 *     "version": 1,
 *     "algorithm": "ed25519",
 *     "publicKey": "<64 hex: the 32-byte public key>",
 *     "secretKey": "<64 hex: the 32-byte ed25519 seed (RFC 8032 secret key)>"
 *   }
 *
 * It is created with mode 0600 and never overwritten: an existing file is read, and refused with one line if it is
 * not such a key (so a typo in --key cannot destroy another file). The secret is never printed. Losing the file
 * loses the address: nobody, not even peersite, can sign a new version for it again.
 */
import { lstat, open, readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { UsageError } from '../../engine/errors.js'
import { ed25519PublicKey, generateEd25519, nodeSigner } from '../../engine/pointer/node.js'
import type { Ed25519Signer } from '../../engine/pointer/index.js'
import { equalBytes, fromHex, toHex } from '../../engine/util/bytes.js'
import { fsError } from './walk.js'
import { makeFolders } from './paths.js'
import { describeSystemError } from './system-errors.js'

export const SITE_KEY_TYPE = 'peersite-site-key'
/** A key file is about 200 bytes; anything much larger is not one (and is not read whole). */
const MAX_KEY_FILE_BYTES = 4096

export interface SiteKey {
  /** Absolute path of the key file. */
  readonly path: string
  readonly publicKey: Uint8Array
  readonly signer: Ed25519Signer
  /** The file does not exist yet: `save()` creates it (exclusively, mode 0600). */
  readonly created: boolean
  /** The file is readable by other users (a warning, as ssh gives for private keys). */
  readonly exposed: boolean
  /** Writes a new key file; a no-op for a key read from an existing file. */
  readonly save: () => Promise<void>
}

/**
 * Reads the key at `file`, or makes a new one in memory when nothing is there (written by `save()`, so that a
 * publish refused later writes nothing). Throws UsageError naming the file and the problem.
 */
export async function loadOrCreateSiteKey (file: string): Promise<SiteKey> {
  const path = resolve(file)
  let info
  try {
    info = await lstat(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(err, `key file ${file}`)
    return newKey(path, file)
  }
  if (info.isSymbolicLink()) throw new UsageError(`key file ${file} is a symlink: give the key file itself`)
  if (!info.isFile()) throw new UsageError(`key file ${file} exists and is not a file`)
  if (info.size > MAX_KEY_FILE_BYTES) throw notAKey(file, `${info.size} bytes, a key file has about 200`)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw fsError(err, `key file ${file}`)
  }
  const seed = parseKeyFile(text, file)
  const signer = nodeSigner(seed)
  return { path, publicKey: signer.publicKey, signer, created: false, exposed: (info.mode & 0o077) !== 0, save: async () => {} }
}

/** The key file's text for a seed (exported for tests and a later `peersite key` command). */
export function formatKeyFile (seed: Uint8Array): string {
  const publicKey = ed25519PublicKey(seed)
  return JSON.stringify({ type: SITE_KEY_TYPE, version: 1, algorithm: 'ed25519', publicKey: toHex(publicKey), secretKey: toHex(seed) }, null, 2) + '\n'
}

/** The seed in a key file's text, after checking that its public key matches. Throws UsageError. */
export function parseKeyFile (text: string, label: string): Uint8Array {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw notAKey(label, 'not JSON')
  }
  if (typeof json !== 'object' || json === null || (json as { type?: unknown }).type !== SITE_KEY_TYPE) throw notAKey(label, `no "type": "${SITE_KEY_TYPE}"`)
  const o = json as Record<string, unknown>
  if (o.version !== 1) throw notAKey(label, `version ${String(o.version)} is not 1`)
  if (o.algorithm !== 'ed25519') throw notAKey(label, `algorithm ${String(o.algorithm)} is not ed25519`)
  const hex32 = (name: string): Uint8Array => {
    const v = o[name]
    if (typeof v !== 'string' || !/^[0-9a-fA-F]{64}$/.test(v)) throw notAKey(label, `${name} is not 64 hex characters`)
    return fromHex(v)
  }
  const seed = hex32('secretKey')
  const publicKey = hex32('publicKey')
  if (!equalBytes(ed25519PublicKey(seed), publicKey)) throw notAKey(label, 'its publicKey does not belong to its secretKey (damaged?)')
  return seed
}

function newKey (path: string, label: string): SiteKey {
  const { seed, publicKey } = generateEd25519()
  const signer = nodeSigner(seed)
  let saved = false
  return {
    path,
    publicKey,
    signer,
    created: true,
    exposed: false,
    save: async () => {
      if (saved) return
      await makeFolders(dirname(path), 0o700)
      // 'wx': never replace a file that appeared since the plan; the mode applies at creation (before any byte).
      const handle = await open(path, 'wx', 0o600).catch((err: unknown) => {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'EEXIST') throw new UsageError(`key file ${label} appeared while publishing: run again to use it`)
        // Its folder is there (made just above): a file system that makes no files in it (procfs) says ENOENT.
        if (code === 'ENOENT') throw new UsageError(`cannot create key file ${label}: the file system of ${dirname(path)} does not allow new files`)
        throw describeSystemError(err, `create key file ${label}`)
      })
      try {
        await handle.writeFile(formatKeyFile(seed))
        await handle.sync()
      } finally {
        await handle.close()
      }
      saved = true
    }
  }
}

function notAKey (label: string, why: string): UsageError {
  return new UsageError(`key file ${label} is not a peersite site key (${why}); it was left untouched: give another --key path to create a new key`)
}
