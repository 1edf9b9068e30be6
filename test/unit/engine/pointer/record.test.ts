/** The BEP 44 record: the spec's test vectors, signing and checking with both crypto back-ends, hostile records. */
import { describe, expect, it } from 'vitest'
import { PointerError } from '../../../../engine/errors.js'
import { nodeSigner, nodeVerifier, generateEd25519, ed25519PublicKey } from '../../../../engine/pointer/node.js'
import {
  btpkMagnet,
  encodePointerValue,
  parsePointerAddress,
  pointerFromJson,
  pointerTarget,
  pointerToJson,
  readPointerValue,
  signPointer,
  signingBuffer,
  verifyPointer,
  webCryptoSigner,
  webCryptoVerifier,
  type Ed25519Verifier,
  type PointerRecord
} from '../../../../engine/pointer/index.js'
import { bencode } from '../../../../engine/util/bencode.js'
import { fromHex, toHex, utf8 } from '../../../../engine/util/bytes.js'

const text = (b: Uint8Array): string => new TextDecoder('latin1').decode(b)

// BEP 44, "Test vectors": test 1 (mutable) and test 2 (mutable with salt).
const BEP44 = {
  value: utf8.encode('12:Hello World!'),
  publicKey: fromHex('77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548'),
  sig1: fromHex('305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01'),
  target1: '4a533d47ec9c7d95b1ad75f576cffc641853b750',
  sig2: fromHex('6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17ddf9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08'),
  target2: '411eba73b6f087ca51a3795d9c8c938d365e32c1'
}

const INFO_HASH = 'c9e15763f722f23e98a29decdfae341b98d53056'
const OTHER_HASH = '0123456789abcdef0123456789abcdef01234567'

const verifiers: Array<[string, Ed25519Verifier]> = [['node:crypto', nodeVerifier], ['WebCrypto', webCryptoVerifier()]]

describe('BEP 44 signing string and test vectors', () => {
  it('builds the signing buffer of test 1 and test 2', () => {
    expect(text(signingBuffer(1, BEP44.value))).toBe('3:seqi1e1:v12:Hello World!')
    expect(text(signingBuffer(1, BEP44.value, utf8.encode('foobar')))).toBe('4:salt6:foobar3:seqi1e1:v12:Hello World!')
    // BEP 44: "if salt is specified and an empty string, it is as if it was not specified".
    expect(text(signingBuffer(4, BEP44.value, new Uint8Array(0)))).toBe('3:seqi4e1:v12:Hello World!')
  })

  it.each(verifiers)('%s accepts the spec\'s signatures and refuses them on other bytes', async (_name, verifier) => {
    const salt = utf8.encode('foobar')
    expect(await verifier.verify(BEP44.publicKey, signingBuffer(1, BEP44.value), BEP44.sig1)).toBe(true)
    expect(await verifier.verify(BEP44.publicKey, signingBuffer(1, BEP44.value, salt), BEP44.sig2)).toBe(true)
    // The salted signature does not cover the unsalted buffer, nor seq 2, nor another value.
    expect(await verifier.verify(BEP44.publicKey, signingBuffer(1, BEP44.value), BEP44.sig2)).toBe(false)
    expect(await verifier.verify(BEP44.publicKey, signingBuffer(2, BEP44.value), BEP44.sig1)).toBe(false)
    expect(await verifier.verify(BEP44.publicKey, signingBuffer(1, utf8.encode('12:Hello World?')), BEP44.sig1)).toBe(false)
    // Not a curve point / wrong sizes: false, not a throw.
    expect(await verifier.verify(new Uint8Array(32).fill(0xff), signingBuffer(1, BEP44.value), BEP44.sig1)).toBe(false)
    expect(await verifier.verify(BEP44.publicKey.subarray(1), signingBuffer(1, BEP44.value), BEP44.sig1)).toBe(false)
    expect(await verifier.verify(BEP44.publicKey, signingBuffer(1, BEP44.value), BEP44.sig1.subarray(1))).toBe(false)
  })

  it('computes the BEP 44 and BEP 46 target IDs (the pointer swarm\'s infohash)', async () => {
    expect(toHex(await pointerTarget(BEP44.publicKey))).toBe(BEP44.target1)
    expect(toHex(await pointerTarget(BEP44.publicKey, utf8.encode('foobar')))).toBe(BEP44.target2)
    const bep46Key = fromHex('8543d3e6115f0f98c944077a4493dcd543e49c739fd998550a1f614ab36ed63e')
    expect(toHex(await pointerTarget(bep46Key))).toBe('cc3f9d90b572172053626f9980ce261a850d050b')
    expect(toHex(await pointerTarget(bep46Key, fromHex('6e')))).toBe('59ee7c2cb9b4f7eb1986ee2d18fd2fdb8a56554f')
  })
})

describe('signPointer / verifyPointer', () => {
  const { seed, publicKey } = generateEd25519()

  it('derives the same public key from the seed', () => {
    expect(toHex(ed25519PublicKey(seed))).toBe(toHex(publicKey))
  })

  it.each([
    ['node:crypto', async () => nodeSigner(seed)],
    ['WebCrypto', async () => await webCryptoSigner(seed, publicKey)]
  ])('a record signed with %s verifies with both back-ends and names its infohash', async (_name, makeSigner) => {
    const signer = await makeSigner()
    const record = await signPointer(signer, { infoHash: INFO_HASH.toUpperCase(), seq: 1_764_633_600_000 })
    expect(toHex(record.publicKey)).toBe(toHex(publicKey))
    expect(text(record.value)).toBe(text(bencode({ ih: fromHex(INFO_HASH) })))
    expect(record.signature.length).toBe(64)
    for (const [, verifier] of verifiers) {
      const checked = await verifyPointer(verifier, record, { publicKey })
      expect(checked.infoHash).toBe(INFO_HASH)
      expect(checked.seq).toBe(1_764_633_600_000)
    }
  })

  it('signs and checks a salted record; the salt is part of what is signed', async () => {
    const salt = utf8.encode('blog')
    const record = await signPointer(nodeSigner(seed), { infoHash: INFO_HASH, seq: 7, salt })
    await expect(verifyPointer(nodeVerifier, record, { publicKey, salt })).resolves.toMatchObject({ infoHash: INFO_HASH })
    // Stripping the salt, or presenting it under another, breaks the signature or the expected address.
    await expect(verifyPointer(nodeVerifier, { ...record, salt: new Uint8Array(0) })).rejects.toThrow(/bad signature/)
    await expect(verifyPointer(nodeVerifier, record, { publicKey, salt: utf8.encode('shop') })).rejects.toThrow(/another salt/)
  })

  const reasons = async (record: PointerRecord, expect_?: { publicKey: Uint8Array }): Promise<string> => {
    try {
      await verifyPointer(webCryptoVerifier(), record, expect_)
      return 'accepted'
    } catch (err) {
      expect(err).toBeInstanceOf(PointerError)
      expect((err as PointerError).reason).toBe('invalid')
      return (err as Error).message
    }
  }

  it('refuses forged, re-pointed, re-numbered, foreign-key and malformed records', async () => {
    const good = await signPointer(nodeSigner(seed), { infoHash: INFO_HASH, seq: 5 })
    const other = generateEd25519()
    const forged = good.signature.slice()
    forged[10]! ^= 1
    expect(await reasons(good, { publicKey })).toBe('accepted')
    expect(await reasons({ ...good, signature: forged })).toMatch(/bad signature/)
    expect(await reasons({ ...good, value: encodePointerValue(OTHER_HASH) })).toMatch(/bad signature/)
    expect(await reasons({ ...good, seq: 6 })).toMatch(/bad signature/)
    // Signed by another key: its own signature is fine, but it is not the site's key.
    const foreign = await signPointer(nodeSigner(other.seed), { infoHash: OTHER_HASH, seq: 99 })
    expect(await reasons(foreign)).toBe('accepted')
    expect(await reasons(foreign, { publicKey })).toMatch(/another key/)
    // The site's key on someone else's signature.
    expect(await reasons({ ...foreign, publicKey })).toMatch(/bad signature/)
    expect(await reasons({ ...good, publicKey: publicKey.subarray(0, 31) })).toMatch(/key is 31 bytes/)
    expect(await reasons({ ...good, signature: good.signature.subarray(0, 63) })).toMatch(/signature is 63 bytes/)
    expect(await reasons({ ...good, seq: -1 })).toMatch(/seq -1/)
    expect(await reasons({ ...good, seq: 1.5 })).toMatch(/seq 1.5/)
    expect(await reasons({ ...good, seq: 2 ** 53 })).toMatch(/seq/)
    expect(await reasons({ ...good, salt: new Uint8Array(65) })).toMatch(/salt is 65 bytes/)
  })

  it('refuses a value that names no torrent, is not bencoding, or is over BEP 44\'s 1000 bytes, even when signed', async () => {
    const signer = nodeSigner(seed)
    const signed = async (value: Uint8Array, seq = 1): Promise<PointerRecord> =>
      ({ publicKey, salt: new Uint8Array(0), seq, value, signature: await signer.sign(signingBuffer(seq, value)) })
    expect(await reasons(await signed(utf8.encode('12:Hello World!')))).toMatch(/names no infohash/)
    expect(await reasons(await signed(bencode({ ih: fromHex(INFO_HASH).subarray(0, 19) })))).toMatch(/names no infohash/)
    expect(await reasons(await signed(utf8.encode('d2:ih20:')))).toMatch(/pointer value:/)
    expect(await reasons(await signed(utf8.encode('d2:ih20:aaaaaaaaaaaaaaaaaaaae0:e')))).toMatch(/pointer value:/)
    // Extra keys beside ih are allowed (a later BEP 46 may add some) as long as the whole fits in 1000 bytes.
    const padded = (n: number): Uint8Array => bencode({ ih: fromHex(INFO_HASH), x: new Uint8Array(n) })
    let n = 0
    while (padded(n).length < 1000) n++
    expect(padded(n).length).toBe(1000)
    expect(await reasons(await signed(padded(n)))).toBe('accepted')
    expect(await reasons(await signed(padded(n + 1)))).toMatch(/1001 bytes .*1000/)
  })

  it('round-trips through the JSON form exactly, and refuses a malformed one', async () => {
    const record = await signPointer(nodeSigner(seed), { infoHash: INFO_HASH, seq: 3, salt: fromHex('6e') })
    const json = JSON.parse(JSON.stringify(pointerToJson(record))) as unknown
    expect(json).toEqual({ k: toHex(publicKey), salt: '6e', seq: 3, v: toHex(record.value), sig: toHex(record.signature) })
    const back = pointerFromJson(json)
    await expect(verifyPointer(nodeVerifier, back, { publicKey, salt: fromHex('6e') })).resolves.toMatchObject({ infoHash: INFO_HASH, seq: 3 })
    expect(pointerToJson(await signPointer(nodeSigner(seed), { infoHash: INFO_HASH, seq: 3 }))).not.toHaveProperty('salt')
    for (const bad of [null, [], 'x', { ...(json as object), k: 'zz' }, { ...(json as object), seq: '3' }, { ...(json as object), seq: -3 }, { ...(json as object), sig: 5 }, { ...(json as object), v: 'abc' }]) {
      expect(() => pointerFromJson(bad)).toThrow(PointerError)
    }
  })

  it('reads the infohash from a value and refuses non-hex infohashes when building one', () => {
    expect(readPointerValue(encodePointerValue(INFO_HASH))).toBe(INFO_HASH)
    expect(() => encodePointerValue('xyz')).toThrow(RangeError)
  })
})

describe('site addresses (BEP 46 magnet links)', () => {
  const key = fromHex('8543d3e6115f0f98c944077a4493dcd543e49c739fd998550a1f614ab36ed63e')

  it('writes and reads magnet:?xs=urn:btpk:<key>&s=<salt>, and a bare public key', () => {
    expect(btpkMagnet(key)).toBe('magnet:?xs=urn:btpk:8543d3e6115f0f98c944077a4493dcd543e49c739fd998550a1f614ab36ed63e')
    expect(btpkMagnet(key, fromHex('6e'))).toBe('magnet:?xs=urn:btpk:8543d3e6115f0f98c944077a4493dcd543e49c739fd998550a1f614ab36ed63e&s=6e')
    for (const input of [btpkMagnet(key), toHex(key), toHex(key).toUpperCase(), `  ${btpkMagnet(key)}&dn=blog&tr=wss%3A%2F%2Ft.example  `]) {
      const parsed = parsePointerAddress(input)
      expect(toHex(parsed.publicKey)).toBe(toHex(key))
      expect(parsed.salt.length).toBe(0)
    }
    expect(toHex(parsePointerAddress(btpkMagnet(key, fromHex('6e'))).salt)).toBe('6e')
  })

  it('refuses what is not a site address, with a line saying why', () => {
    expect(() => parsePointerAddress('magnet:?xt=urn:btih:' + INFO_HASH)).toThrow(/no xs=urn:btpk/)
    expect(() => parsePointerAddress(`${btpkMagnet(key)}&xs=urn:btpk:${toHex(key)}`)).toThrow(/more than one/)
    expect(() => parsePointerAddress('magnet:?xs=urn:btpk:1234')).toThrow(/64-hex/)
    expect(() => parsePointerAddress(`${btpkMagnet(key)}&s=xyz`)).toThrow(/salt/)
    expect(() => parsePointerAddress(`${btpkMagnet(key)}&s=${'00'.repeat(65)}`)).toThrow(/salt/)
    expect(() => parsePointerAddress('https://example.org/')).toThrow(/not a site address/)
    expect(() => parsePointerAddress(toHex(key).slice(2))).toThrow(PointerError)
  })
})
