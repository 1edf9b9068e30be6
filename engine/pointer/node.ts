/**
 * Ed25519 with Node's own crypto (node:crypto, OpenSSL), for the CLI: generating a site key, signing with it, and
 * verifying. Kept out of the engine's core, like storage/fs.ts.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { POINTER_PUBLIC_KEY_BYTES, POINTER_SIGNATURE_BYTES } from '../constants.js'
import type { Ed25519Signer, Ed25519Verifier } from './index.js'

/** A fresh key pair: the 32-byte seed (RFC 8032's secret key) and the 32-byte public key. */
export function generateEd25519 (): { seed: Uint8Array, publicKey: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const jwk = privateKey.export({ format: 'jwk' })
  const pub = publicKey.export({ format: 'jwk' })
  return { seed: fromB64url(jwk.d!), publicKey: fromB64url(pub.x!) }
}

/** The public key that belongs to `seed`. */
export function ed25519PublicKey (seed: Uint8Array): Uint8Array {
  const jwk = createPublicKey(privateKeyObject(seed)).export({ format: 'jwk' })
  return fromB64url(jwk.x!)
}

export function nodeSigner (seed: Uint8Array): Ed25519Signer {
  const key = privateKeyObject(seed)
  const publicKey = fromB64url(createPublicKey(key).export({ format: 'jwk' }).x!)
  return {
    publicKey,
    // Ed25519 hashes internally: the algorithm argument is null.
    sign: async (message) => new Uint8Array(sign(null, message, key))
  }
}

export const nodeVerifier: Ed25519Verifier = {
  async verify (publicKey, message, signature) {
    if (publicKey.length !== POINTER_PUBLIC_KEY_BYTES || signature.length !== POINTER_SIGNATURE_BYTES) return false
    let key: KeyObject
    try {
      key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: toB64url(publicKey) }, format: 'jwk' })
    } catch {
      return false // not a point on the curve: no signature can be valid for it
    }
    return verify(null, message, key, signature)
  }
}

function privateKeyObject (seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new RangeError('an ed25519 seed is 32 bytes')
  // The public half is required by the JWK form; derive it through a PKCS#8 import of the bare seed instead.
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
}

/** RFC 8410 PKCS#8 wrapping of an Ed25519 seed: SEQUENCE { version 0, AlgorithmIdentifier 1.3.101.112, OCTET STRING { OCTET STRING seed } }. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

function toB64url (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url')
}

function fromB64url (s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64url'))
}
