/**
 * peersite's BEP 10 extension `peersite_pointer`: carries a site's newest signed pointer record (engine/pointer)
 * between peers, so that visitors (browsers have no DHT) learn of a new version from the swarm. Sent after the
 * extended handshake when we know a record, and again whenever we learn a newer one.
 *
 * The payload (after the extended message id) is one bencoded dictionary with the fields and names of a BEP 44
 * mutable item, so that a record read here can go into the DHT unchanged (a BEP 46 `put`) and back:
 *
 *   k:    the 32-byte ed25519 public key
 *   salt: optional, at most 64 bytes (absent = empty)
 *   seq:  the sequence number, an integer 0..2^53-1
 *   sig:  the 64-byte ed25519 signature over BEP 44's signing string
 *   v:    the value, any bencoded value of at most 1000 bytes (BEP 46: `{ ih: <20-byte infohash> }`), kept verbatim
 *
 * e.g. `d1:k32:<k>3:seqi1764633600000e3:sig64:<sig>1:vd2:ih20:<ih>ee`.
 *
 * Decoding checks the shape only (sizes, types, grammar); whether to believe the record is the PointerBook's
 * decision (signature, key, rollback, fork). Hostile input: the message is capped at POINTER_MAX_MESSAGE_BYTES,
 * the bencoding grammar is checked before anything is decoded (util/bencode.ts), and every problem is a
 * ProtocolError for the caller to turn into a warning.
 */
import { POINTER_MAX_MESSAGE_BYTES, POINTER_MAX_SALT_BYTES, POINTER_MAX_VALUE_BYTES, POINTER_PUBLIC_KEY_BYTES, POINTER_SIGNATURE_BYTES } from '../constants.js'
import { ProtocolError } from '../errors.js'
import type { PointerRecord } from '../pointer/index.js'
import { BencodeError, bdecode, bencodedLength, isBytes, isInt } from '../util/bencode.js'
import { concatBytes, utf8 } from '../util/bytes.js'

/** The name registered in the BEP 10 handshake's `m` dictionary. */
export const PEERSITE_POINTER = 'peersite_pointer'

/** Encodes a record. Keys in sorted order (BEP 3: "Keys must be strings and appear in sorted order"); `v` verbatim. */
export function encodePointerMessage (record: PointerRecord): Uint8Array {
  if (record.publicKey.length !== POINTER_PUBLIC_KEY_BYTES || record.signature.length !== POINTER_SIGNATURE_BYTES) throw new RangeError('a pointer record has a 32-byte key and a 64-byte signature')
  if (record.salt.length > POINTER_MAX_SALT_BYTES || record.value.length > POINTER_MAX_VALUE_BYTES) throw new RangeError('pointer salt or value over the BEP 44 limits')
  if (!Number.isSafeInteger(record.seq) || record.seq < 0) throw new RangeError(`invalid seq ${record.seq}`)
  const str = (s: string): Uint8Array => utf8.encode(s)
  const parts: Uint8Array[] = [str('d1:k32:'), record.publicKey]
  if (record.salt.length > 0) parts.push(str(`4:salt${record.salt.length}:`), record.salt)
  parts.push(str(`3:seqi${record.seq}e3:sig64:`), record.signature, str('1:v'), record.value, str('e'))
  return concatBytes(parts)
}

/** Reads one message into a record (unverified). Throws ProtocolError naming the problem. */
export function decodePointerMessage (payload: Uint8Array): PointerRecord {
  if (payload.length > POINTER_MAX_MESSAGE_BYTES) throw new ProtocolError(`${PEERSITE_POINTER} message of ${payload.length} bytes (at most ${POINTER_MAX_MESSAGE_BYTES})`)
  try {
    return readFields(dictionarySpans(payload))
  } catch (err) {
    if (err instanceof BencodeError) throw new ProtocolError(`${PEERSITE_POINTER}: ${err.message}`, { cause: err })
    throw err
  }
}

function readFields (fields: Map<string, Uint8Array>): PointerRecord {
  const bytes = (name: string, length?: { exactly?: number, max?: number }): Uint8Array | undefined => {
    const span = fields.get(name)
    if (span === undefined) return undefined
    const value = bdecode(span)
    if (!isBytes(value)) throw new ProtocolError(`${PEERSITE_POINTER}: ${name} is not a byte string`)
    if (length?.exactly !== undefined && value.length !== length.exactly) throw new ProtocolError(`${PEERSITE_POINTER}: ${name} is ${value.length} bytes, not ${length.exactly}`)
    if (length?.max !== undefined && value.length > length.max) throw new ProtocolError(`${PEERSITE_POINTER}: ${name} is ${value.length} bytes (at most ${length.max})`)
    return value
  }
  const publicKey = bytes('k', { exactly: POINTER_PUBLIC_KEY_BYTES })
  const signature = bytes('sig', { exactly: POINTER_SIGNATURE_BYTES })
  const salt = bytes('salt', { max: POINTER_MAX_SALT_BYTES }) ?? new Uint8Array(0)
  const seqSpan = fields.get('seq')
  const seq = seqSpan === undefined ? undefined : bdecode(seqSpan)
  const value = fields.get('v')
  if (publicKey === undefined || signature === undefined || seq === undefined || value === undefined) {
    throw new ProtocolError(`${PEERSITE_POINTER}: missing ${['k', 'seq', 'sig', 'v'].filter((k) => !fields.has(k)).join(', ')}`)
  }
  if (!isInt(seq) || seq < 0) throw new ProtocolError(`${PEERSITE_POINTER}: seq is not a non-negative integer`)
  if (value.length > POINTER_MAX_VALUE_BYTES) throw new ProtocolError(`${PEERSITE_POINTER}: v is ${value.length} bytes (BEP 44 allows ${POINTER_MAX_VALUE_BYTES})`)
  // A copy: the payload buffer belongs to the connection.
  return { publicKey, salt, seq, value: value.slice(), signature }
}

/**
 * The raw bytes of each value of the top-level dictionary, by key. The grammar of the whole payload is checked
 * first; keys are byte strings read as UTF-8 (ours are ASCII), and a repeated key is refused (which value would be
 * meant?). Unknown keys are kept and ignored by the caller (BEP 10: "Any unknown names should be ignored").
 */
function dictionarySpans (payload: Uint8Array): Map<string, Uint8Array> {
  if (bencodedLength(payload) !== payload.length) throw new BencodeError('trailing bytes after the dictionary')
  if (payload[0] !== 0x64) throw new BencodeError('not a dictionary')
  const out = new Map<string, Uint8Array>()
  let pos = 1
  while (payload[pos] !== 0x65) {
    // The grammar check above guarantees a key string then a value here, both inside the payload.
    const keyLength = bencodedLength(payload.subarray(pos))
    const keyBytes = bdecode(payload.subarray(pos, pos + keyLength)) as Uint8Array
    pos += keyLength
    const valueLength = bencodedLength(payload.subarray(pos))
    const key = utf8.decode(keyBytes)
    if (out.has(key)) throw new BencodeError(`key ${key} appears twice`)
    out.set(key, payload.subarray(pos, pos + valueLength))
    pos += valueLength
  }
  return out
}
