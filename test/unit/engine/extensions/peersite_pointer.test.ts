/** The peersite_pointer BEP 10 message: BEP 44 field layout, exact round trips, and hostile payloads refused. */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { POINTER_MAX_MESSAGE_BYTES } from '../../../../engine/constants.js'
import { ProtocolError } from '../../../../engine/errors.js'
import { PEERSITE_POINTER, decodePointerMessage, encodePointerMessage } from '../../../../engine/extensions/peersite_pointer.js'
import { generateEd25519, nodeSigner, nodeVerifier } from '../../../../engine/pointer/node.js'
import { signPointer, signingBuffer, verifyPointer, type PointerRecord } from '../../../../engine/pointer/index.js'
import { bdecode, bencode } from '../../../../engine/util/bencode.js'
import { concatBytes, fromHex, toHex, utf8 } from '../../../../engine/util/bytes.js'

const latin1 = (b: Uint8Array): string => new TextDecoder('latin1').decode(b)
const IH = 'c9e15763f722f23e98a29decdfae341b98d53056'
const site = generateEd25519()

describe('peersite_pointer codec', () => {
  it('is named peersite_pointer and lays a record out as a BEP 44 item, keys sorted, v verbatim', async () => {
    expect(PEERSITE_POINTER).toBe('peersite_pointer')
    const record = await signPointer(nodeSigner(site.seed), { infoHash: IH, seq: 1_764_633_600_000 })
    const bytes = encodePointerMessage(record)
    const text = latin1(bytes)
    expect(text.startsWith('d1:k32:')).toBe(true)
    expect(text).toContain('3:seqi1764633600000e3:sig64:')
    expect(text.endsWith(`1:v${latin1(record.value)}e`)).toBe(true)
    // Exactly what a bencoder writes for the same dictionary (the value is already a dict, so it nests unchanged).
    expect(toHex(bytes)).toBe(toHex(bencode({ k: record.publicKey, seq: record.seq, sig: record.signature, v: bdecode(record.value) })))
    const back = decodePointerMessage(bytes)
    expect(toHex(back.value)).toBe(toHex(record.value))
    expect(back.seq).toBe(record.seq)
    expect(back.salt.length).toBe(0)
    await expect(verifyPointer(nodeVerifier, back, { publicKey: site.publicKey })).resolves.toMatchObject({ infoHash: IH })
  })

  it('carries the salt, and keeps a non-canonical v verbatim so its signature still checks', async () => {
    const salted = await signPointer(nodeSigner(site.seed), { infoHash: IH, seq: 2, salt: utf8.encode('blog') })
    const back = decodePointerMessage(encodePointerMessage(salted))
    expect(utf8.decode(back.salt)).toBe('blog')
    await expect(verifyPointer(nodeVerifier, back, { publicKey: site.publicKey, salt: utf8.encode('blog') })).resolves.toBeTruthy()

    // Keys out of order inside v: a decoder that re-encoded v would sort them and break the signature.
    const value = concatBytes([utf8.encode('d2:zz1:x2:ih20:'), fromHex(IH), utf8.encode('e')])
    const signer = nodeSigner(site.seed)
    const record: PointerRecord = { publicKey: site.publicKey, salt: new Uint8Array(0), seq: 3, value, signature: await signer.sign(signingBuffer(3, value)) }
    const decoded = decodePointerMessage(encodePointerMessage(record))
    expect(latin1(decoded.value)).toBe(latin1(value))
    await expect(verifyPointer(nodeVerifier, decoded)).resolves.toMatchObject({ infoHash: IH })
  })

  it('ignores unknown keys and accepts them in any order', async () => {
    const r = await signPointer(nodeSigner(site.seed), { infoHash: IH, seq: 9 })
    const bytes = concatBytes([utf8.encode('d1:v'), r.value, utf8.encode('3:seqi9e5:extrali1ee3:sig64:'), r.signature, utf8.encode('1:k32:'), r.publicKey, utf8.encode('e')])
    const back = decodePointerMessage(bytes)
    expect(back.seq).toBe(9)
    expect(toHex(back.publicKey)).toBe(toHex(site.publicKey))
  })

  it('refuses malformed, incomplete, mistyped and oversize messages with a ProtocolError', async () => {
    const r = await signPointer(nodeSigner(site.seed), { infoHash: IH, seq: 9 })
    const good = encodePointerMessage(r)
    const msg = (fields: Record<string, unknown>): Uint8Array => bencode(fields)
    const base = { k: r.publicKey, seq: 9, sig: r.signature, v: bdecode(r.value) }
    const bad: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array(0), /malformed bencoding at byte 0/],
      [utf8.encode('le'), /not a dictionary/],
      [utf8.encode('i5e'), /not a dictionary/],
      [good.subarray(0, good.length - 1), /malformed bencoding/],
      [concatBytes([good, utf8.encode('x')]), /trailing/],
      [utf8.encode('d1:k-3:abce'), /./],
      [utf8.encode('d1:k32:abc'), /malformed bencoding/],
      [msg({ seq: 9, sig: r.signature, v: bdecode(r.value) }), /missing k/],
      [msg({ k: r.publicKey, sig: r.signature }), /missing seq, v/],
      [msg({ ...base, k: r.publicKey.subarray(1) }), /k is 31 bytes, not 32/],
      [msg({ ...base, sig: r.signature.subarray(1) }), /sig is 63 bytes, not 64/],
      [msg({ ...base, k: 5 }), /k is not a byte string/],
      [msg({ ...base, salt: new Uint8Array(65) }), /salt is 65 bytes/],
      [msg({ ...base, seq: -1 }), /seq is not a non-negative integer/],
      [msg({ ...base, seq: utf8.encode('9') }), /seq is not/],
      [msg({ ...base, v: new Uint8Array(1000) }), /v is 1005 bytes .*allows 1000/],
      [msg({ ...base, pad: new Uint8Array(POINTER_MAX_MESSAGE_BYTES) }), /message of \d+ bytes/],
      [concatBytes([utf8.encode('d1:k32:'), r.publicKey, utf8.encode('1:k32:'), r.publicKey, good.subarray(7 + 32)]), /k appears twice/]
    ]
    for (const [payload, pattern] of bad) {
      let error: unknown
      try {
        decodePointerMessage(payload)
      } catch (err) {
        error = err
      }
      expect(error, latin1(payload)).toBeInstanceOf(ProtocolError)
      expect((error as Error).message).toMatch(pattern)
    }
  })

  it('never throws anything but a ProtocolError on arbitrary bytes or mutations of a good message', async () => {
    const good = encodePointerMessage(await signPointer(nodeSigner(site.seed), { infoHash: IH, seq: 9 }))
    const check = (payload: Uint8Array): void => {
      try {
        decodePointerMessage(payload)
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err
      }
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => check(bytes)), { numRuns: 500 })
    fc.assert(fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, byte) => {
      const copy = good.slice()
      copy[at] = byte
      check(copy)
    }), { numRuns: 1000 })
  })

  it('refuses to encode a record outside the BEP 44 limits (API misuse)', async () => {
    const r = await signPointer(nodeSigner(site.seed), { infoHash: IH, seq: 1 })
    expect(() => encodePointerMessage({ ...r, publicKey: new Uint8Array(31) })).toThrow(RangeError)
    expect(() => encodePointerMessage({ ...r, value: new Uint8Array(1001) })).toThrow(RangeError)
    expect(() => encodePointerMessage({ ...r, seq: -2 })).toThrow(RangeError)
  })
})
