/**
 * Ed25519 through WebCrypto (`crypto.subtle`, algorithm "Ed25519"): in browsers (Chromium and Firefox ship it) and
 * in Node 20, whose WebCrypto has it too. No `node:` imports: this file goes into the browser bundles.
 */
import { POINTER_PUBLIC_KEY_BYTES, POINTER_SIGNATURE_BYTES } from '../constants.js'
import { toHex } from '../util/bytes.js'
import type { Ed25519Signer, Ed25519Verifier } from './index.js'

const ED25519 = { name: 'Ed25519' } as const

/** Imported keys by hex, so a peer repeating one record costs one import. Bounded: the key is the site's. */
const MAX_CACHED_KEYS = 16

export function webCryptoVerifier (subtle: SubtleCrypto = globalThis.crypto.subtle): Ed25519Verifier {
  const keys = new Map<string, Promise<CryptoKey>>()
  return {
    async verify (publicKey, message, signature) {
      if (publicKey.length !== POINTER_PUBLIC_KEY_BYTES || signature.length !== POINTER_SIGNATURE_BYTES) return false
      const id = toHex(publicKey)
      let key = keys.get(id)
      if (key === undefined) {
        key = subtle.importKey('raw', copy(publicKey), ED25519, false, ['verify'])
        if (keys.size >= MAX_CACHED_KEYS) keys.clear()
        keys.set(id, key)
        // A key that is not a curve point rejects: drop it from the cache so the failure is not remembered as a key.
        key.catch(() => keys.delete(id))
      }
      return await subtle.verify(ED25519, await key, copy(signature), copy(message))
    }
  }
}

/**
 * A signer from a 32-byte ed25519 seed (RFC 8032's secret key) and its public key, imported as a non-extractable
 * JWK: the seed cannot be read back out of the CryptoKey.
 */
export async function webCryptoSigner (seed: Uint8Array, publicKey: Uint8Array, subtle: SubtleCrypto = globalThis.crypto.subtle): Promise<Ed25519Signer> {
  if (seed.length !== 32 || publicKey.length !== POINTER_PUBLIC_KEY_BYTES) throw new RangeError('an ed25519 seed and public key are 32 bytes each')
  const key = await subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', d: base64url(seed), x: base64url(publicKey) }, ED25519, false, ['sign'])
  return {
    publicKey: publicKey.slice(),
    async sign (message) {
      return new Uint8Array(await subtle.sign(ED25519, key, copy(message)))
    }
  }
}

/** WebCrypto wants an ArrayBuffer-backed view; a copy also keeps a caller's later writes out. */
function copy (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes)
}

function base64url (bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
