/**
 * Signed pointer records: a site key (ed25519) signs "version `seq` of this site is the torrent `ih`", in the BEP 44
 * mutable-item layout that BEP 46 uses to update torrents. The same record can travel over the DHT (a Node seeder's
 * `put`, issue 13), over peersite's BEP 10 extension (extensions/peersite_pointer.ts) and inside peersite.json, and
 * is checked the same way wherever it comes from: none of these carriers is trusted.
 *
 * No `node:` imports here: signing and verifying go through the small Ed25519Signer / Ed25519Verifier interfaces, so
 * Node (node.ts, node:crypto) and browsers (webcrypto.ts, WebCrypto's Ed25519) plug their own crypto in.
 */
export {
  btpkMagnet,
  encodePointerValue,
  parsePointerAddress,
  pointerFromJson,
  pointerId,
  pointerTarget,
  pointerToJson,
  readPointerValue,
  signPointer,
  signingBuffer,
  verifyPointer
} from './record.js'
export { PointerBook, type PointerBookInit, type PointerDecision, type PointerKnown } from './book.js'
export { webCryptoVerifier, webCryptoSigner } from './webcrypto.js'
export { POINTER_PUBLIC_KEY_BYTES, POINTER_SIGNATURE_BYTES } from '../constants.js'

/**
 * One BEP 44 mutable item, as signed: `k`, `salt` (empty when none: BEP 44 "if salt is specified and an empty
 * string, it is as if it was not specified"), `seq`, `v` in its verbatim bencoded form (BEP 44: "It is important to
 * use the verbatim bencoded representation as it appeared in the message") and `sig`. Not yet checked.
 */
export interface PointerRecord {
  readonly publicKey: Uint8Array
  readonly salt: Uint8Array
  readonly seq: number
  readonly value: Uint8Array
  readonly signature: Uint8Array
}

/** A record whose sizes, seq and signature were checked, and whose `v` names a torrent (BEP 46 `{ ih: <20 bytes> }`). */
export interface VerifiedPointer extends PointerRecord {
  /** The torrent this version of the site is, 40 lowercase hex characters. */
  readonly infoHash: string
}

/**
 * A record as JSON (peersite.json's `pointer`): every byte string in lowercase hex, `v` being the hex of the
 * verbatim bencoded value, so that the signed bytes survive the trip through JSON exactly.
 */
export interface PointerRecordJson {
  readonly k: string
  readonly salt?: string
  readonly seq: number
  readonly v: string
  readonly sig: string
}

/** Checks ed25519 signatures. Resolves false for a wrong signature; never rejects for bad input (it is a peer's). */
export interface Ed25519Verifier {
  verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => Promise<boolean>
}

/** Signs with one ed25519 secret key, which it never exposes. */
export interface Ed25519Signer {
  readonly publicKey: Uint8Array
  sign: (message: Uint8Array) => Promise<Uint8Array>
}
