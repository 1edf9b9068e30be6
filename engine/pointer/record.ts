/**
 * The BEP 44 mutable item that points at a site's newest torrent: building, signing, checking, the BEP 46 target and
 * magnet address, and the JSON form peersite.json carries. Pure functions; crypto comes in through the interfaces.
 */
import {
  POINTER_MAX_SALT_BYTES,
  POINTER_MAX_SEQ,
  POINTER_MAX_VALUE_BYTES,
  POINTER_PUBLIC_KEY_BYTES,
  POINTER_SIGNATURE_BYTES
} from '../constants.js'
import { PointerError } from '../errors.js'
import { BencodeError, bdecode, bencode, isBytes, isDict } from '../util/bencode.js'
import { concatBytes, equalBytes, fromHex, sha1, toHex, utf8 } from '../util/bytes.js'
import type { Ed25519Signer, Ed25519Verifier, PointerRecord, PointerRecordJson, VerifiedPointer } from './index.js'

const INFO_HASH_BYTES = 20
const EMPTY = new Uint8Array(0)

/**
 * BEP 44, "Signature Verification": concatenate ("4:salt" length-of-salt ":" salt) "3:seqi" seq "e1:v" and the
 * encoded value, e.g. `3:seqi1e1:v12:Hello World!`, or with the salt "foobar" `4:salt6:foobar3:seqi1e1:v12:Hello
 * World!`. The salt part is there "only ... if a non-empty salt is specified". Built by hand rather than by
 * bencoding a dictionary, as the BEP asks, so that no parser quirk can shift a length into the sequence number.
 */
export function signingBuffer (seq: number, value: Uint8Array, salt: Uint8Array = EMPTY): Uint8Array {
  checkSeq(seq)
  const parts: Uint8Array[] = []
  if (salt.length > 0) parts.push(utf8.encode(`4:salt${salt.length}:`), salt)
  parts.push(utf8.encode(`3:seqi${seq}e1:v`), value)
  return concatBytes(parts)
}

/** BEP 46: "The value of the payload v contains a dictionary with key ih (info hash) and value the 20 byte infohash". */
export function encodePointerValue (infoHash: string): Uint8Array {
  if (!/^[0-9a-fA-F]{40}$/.test(infoHash)) throw new RangeError(`not an infohash: ${infoHash}`)
  return bencode({ ih: fromHex(infoHash) })
}

/**
 * The infohash a verbatim bencoded `v` names (lowercase hex). Keys other than `ih` are ignored (BEP 46 defines only
 * `ih`; a later version may add some). Throws PointerError('invalid').
 */
export function readPointerValue (value: Uint8Array): string {
  if (value.length > POINTER_MAX_VALUE_BYTES) throw new PointerError('invalid', `pointer value is ${value.length} bytes (BEP 44 allows ${POINTER_MAX_VALUE_BYTES})`)
  let decoded
  try {
    decoded = bdecode(value)
  } catch (err) {
    if (err instanceof BencodeError) throw new PointerError('invalid', `pointer value: ${err.message}`, { cause: err })
    throw err
  }
  const ih = isDict(decoded) && Object.hasOwn(decoded, 'ih') ? decoded.ih : undefined
  if (!isBytes(ih) || ih.length !== INFO_HASH_BYTES) throw new PointerError('invalid', 'pointer value names no infohash (BEP 46 wants { ih: <20 bytes> })')
  return toHex(ih)
}

/** Signs "version `seq` of this site is the torrent `infoHash`". Bad arguments are API misuse (RangeError). */
export async function signPointer (signer: Ed25519Signer, init: { infoHash: string, seq: number, salt?: Uint8Array }): Promise<VerifiedPointer> {
  const salt = init.salt ?? EMPTY
  if (salt.length > POINTER_MAX_SALT_BYTES) throw new RangeError(`salt of ${salt.length} bytes (BEP 44: at most ${POINTER_MAX_SALT_BYTES})`)
  if (signer.publicKey.length !== POINTER_PUBLIC_KEY_BYTES) throw new RangeError('the signer\'s public key is not 32 bytes')
  const value = encodePointerValue(init.infoHash)
  const signature = await signer.sign(signingBuffer(init.seq, value, salt))
  return { publicKey: signer.publicKey, salt, seq: init.seq, value, signature, infoHash: init.infoHash.toLowerCase() }
}

/**
 * Checks everything a reader must before believing a record: field sizes (BEP 44: 32-byte key, 64-byte signature,
 * salt of at most 64 bytes, `v` of at most 1000 bytes), a seq in 0..POINTER_MAX_SEQ, that it is signed by the
 * expected key and salt when given (BEP 44: the key "MUST be verified to hash to the target ID the lookup was made
 * for"), the signature over the BEP 44 signing string, and that `v` names a torrent. Throws PointerError('invalid').
 */
export async function verifyPointer (
  verifier: Ed25519Verifier,
  record: PointerRecord,
  expect?: { publicKey: Uint8Array, salt?: Uint8Array }
): Promise<VerifiedPointer> {
  if (record.publicKey.length !== POINTER_PUBLIC_KEY_BYTES) throw new PointerError('invalid', `pointer key is ${record.publicKey.length} bytes, not ${POINTER_PUBLIC_KEY_BYTES}`)
  if (record.signature.length !== POINTER_SIGNATURE_BYTES) throw new PointerError('invalid', `pointer signature is ${record.signature.length} bytes, not ${POINTER_SIGNATURE_BYTES}`)
  if (record.salt.length > POINTER_MAX_SALT_BYTES) throw new PointerError('invalid', `pointer salt is ${record.salt.length} bytes (BEP 44 allows ${POINTER_MAX_SALT_BYTES})`)
  if (!Number.isSafeInteger(record.seq) || record.seq < 0 || record.seq > POINTER_MAX_SEQ) throw new PointerError('invalid', `pointer seq ${record.seq} is not an integer 0..2^53-1`)
  if (expect !== undefined) {
    if (!equalBytes(record.publicKey, expect.publicKey)) throw new PointerError('invalid', `pointer signed by another key (${toHex(record.publicKey)}, expected ${toHex(expect.publicKey)})`)
    if (!equalBytes(record.salt, expect.salt ?? EMPTY)) throw new PointerError('invalid', 'pointer has another salt than the address')
  }
  const infoHash = readPointerValue(record.value)
  let valid = false
  try {
    valid = await verifier.verify(record.publicKey, signingBuffer(record.seq, record.value, record.salt), record.signature)
  } catch (err) {
    // A key that is not a valid curve point, for instance: the peer's bytes, not our bug.
    throw new PointerError('invalid', `pointer signature check failed: ${(err as Error).message}`, { cause: err })
  }
  if (!valid) throw new PointerError('invalid', `pointer seq ${record.seq} has a bad signature`)
  return { ...record, infoHash }
}

/** BEP 44/46: the item's target, and so the pointer swarm's infohash: SHA-1 of the public key followed by the salt. */
export async function pointerTarget (publicKey: Uint8Array, salt: Uint8Array = EMPTY): Promise<Uint8Array> {
  return await sha1(concatBytes([publicKey, salt]))
}

/** One string per (key, salt): what per-key memory is indexed by. */
export function pointerId (publicKey: Uint8Array, salt: Uint8Array = EMPTY): string {
  return salt.length > 0 ? `${toHex(publicKey)}:${toHex(salt)}` : toHex(publicKey)
}

/** BEP 46: `magnet:?xs=urn:btpk:[ Public Key (Hex) ]&s=[ Salt (Hex) ]`, the salt being optional. */
export function btpkMagnet (publicKey: Uint8Array, salt: Uint8Array = EMPTY): string {
  return `magnet:?xs=urn:btpk:${toHex(publicKey)}` + (salt.length > 0 ? `&s=${toHex(salt)}` : '')
}

/**
 * A site address as a user types it: a BEP 46 magnet (`xs=urn:btpk:<64 hex>`, optional `s=<hex salt>`) or the
 * public key alone (64 hex characters). Throws PointerError('invalid') naming what is wrong.
 */
export function parsePointerAddress (input: string): { publicKey: Uint8Array, salt: Uint8Array } {
  const text = input.trim()
  if (/^[0-9a-fA-F]{64}$/.test(text)) return { publicKey: fromHex(text), salt: EMPTY }
  if (!text.toLowerCase().startsWith('magnet:?')) throw new PointerError('invalid', `not a site address (a magnet:?xs=urn:btpk: link or a 64-hex public key): ${input}`)
  const params = new URLSearchParams(text.slice('magnet:?'.length))
  const keys = params.getAll('xs').filter((xs) => xs.toLowerCase().startsWith('urn:btpk:'))
  if (keys.length !== 1) throw new PointerError('invalid', `magnet link has ${keys.length === 0 ? 'no' : 'more than one'} xs=urn:btpk: public key`)
  const hex = keys[0]!.slice('urn:btpk:'.length)
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new PointerError('invalid', `magnet link's btpk is not a 64-hex public key: ${hex}`)
  const s = params.get('s')
  if (s !== null && (!/^([0-9a-fA-F]{2})*$/.test(s) || s.length / 2 > POINTER_MAX_SALT_BYTES)) {
    throw new PointerError('invalid', `magnet link's salt s= is not hex of at most ${POINTER_MAX_SALT_BYTES} bytes`)
  }
  return { publicKey: fromHex(hex), salt: s === null ? EMPTY : fromHex(s) }
}

export function pointerToJson (record: PointerRecord): PointerRecordJson {
  return {
    k: toHex(record.publicKey),
    ...(record.salt.length > 0 ? { salt: toHex(record.salt) } : {}),
    seq: record.seq,
    v: toHex(record.value),
    sig: toHex(record.signature)
  }
}

/** Reads the JSON form, which comes from a file anyone may have edited: a wrong shape is PointerError('invalid'). */
export function pointerFromJson (json: unknown): PointerRecord {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new PointerError('invalid', 'pointer record is not an object')
  const o = json as Record<string, unknown>
  const hex = (name: string, optional = false): Uint8Array => {
    const v = Object.hasOwn(o, name) ? o[name] : undefined
    if (v === undefined && optional) return EMPTY
    if (typeof v !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(v)) throw new PointerError('invalid', `pointer record's ${name} is not a hex string`)
    return fromHex(v)
  }
  const seq = Object.hasOwn(o, 'seq') ? o.seq : undefined
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw new PointerError('invalid', 'pointer record\'s seq is not a non-negative integer')
  return { publicKey: hex('k'), salt: hex('salt', true), seq, value: hex('v'), signature: hex('sig') }
}

function checkSeq (seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > POINTER_MAX_SEQ) throw new RangeError(`seq ${seq} is not an integer 0..2^53-1`)
}
