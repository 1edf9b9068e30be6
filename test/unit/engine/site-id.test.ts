import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { base32Decode, base32Encode, parseSiteId, siteIdFromHost, siteIdOf } from '../../../engine/util/site-id.js'

describe('site ids (RFC 4648 base32, lowercase, no padding)', () => {
  it('encodes the RFC 4648 test vectors', () => {
    // RFC 4648 section 10, lowercased and without the padding.
    const vectors: Array<[string, string]> = [['', ''], ['f', 'my'], ['fo', 'mzxq'], ['foo', 'mzxw6'], ['foob', 'mzxw6yq'], ['fooba', 'mzxw6ytb'], ['foobar', 'mzxw6ytboi']]
    for (const [plain, encoded] of vectors) {
      expect(base32Encode(new TextEncoder().encode(plain))).toBe(encoded)
      expect(new TextDecoder().decode(base32Decode(encoded))).toBe(plain)
    }
  })

  it('an infohash is 32 characters, a public key 52, and both come back', () => {
    const infoHash = createHash('sha1').update('site').digest('hex')
    const id = siteIdOf(infoHash)
    expect(id).toMatch(/^[a-z2-7]{32}$/)
    expect(parseSiteId(id)).toEqual({ kind: 'infohash', id, infoHash })
    const publicKey = createHash('sha256').update('key').digest('hex')
    const keyId = siteIdOf(publicKey)
    expect(keyId).toMatch(/^[a-z2-7]{52}$/)
    expect(parseSiteId(keyId)).toEqual({ kind: 'key', id: keyId, publicKey })
  })

  it('refuses anything but the canonical spelling', () => {
    const id = siteIdOf('0123456789abcdef0123456789abcdef01234567')
    expect(parseSiteId(id.toUpperCase())).toBeUndefined()
    expect(parseSiteId(id.slice(1))).toBeUndefined()
    expect(parseSiteId(id.slice(0, 31) + '1')).toBeUndefined() // '1' is not in the alphabet
    // A 52-character label whose 4 unused bits are not zero would be a second spelling of a key.
    const keyId = siteIdOf('00'.repeat(32))
    expect(parseSiteId(keyId)).toBeDefined()
    expect(parseSiteId(keyId.slice(0, 51) + 'b')).toBeUndefined()
    expect(() => siteIdOf('xyz')).toThrow(TypeError)
  })

  it('takes the id from the first label of a host name only', () => {
    const infoHash = 'ab'.repeat(20)
    const id = siteIdOf(infoHash)
    expect(siteIdFromHost(`${id}.localhost`)).toMatchObject({ infoHash })
    expect(siteIdFromHost(`${id.toUpperCase()}.sites.example`)).toMatchObject({ infoHash })
    expect(siteIdFromHost(id)).toBeUndefined() // a bare label is not a gateway address
    expect(siteIdFromHost(`${id}.`)).toBeUndefined()
    // A trailing dot is an origin of its own in browsers: no site there (the gateway answers it 404 too).
    expect(siteIdFromHost(`${id}.localhost.`)).toBeUndefined()
    expect(siteIdFromHost(`www.${id}.localhost`)).toBeUndefined()
    expect(siteIdFromHost('localhost')).toBeUndefined()
  })

  it('refuses nested names: <A>.<B>.localhost would let site A set cookies for site B\'s origin', () => {
    const a = siteIdOf('ab'.repeat(20))
    const b = siteIdOf('cd'.repeat(20))
    const key = siteIdOf('00'.repeat(32))
    expect(siteIdFromHost(`${a}.${b}.localhost`)).toBeUndefined()
    expect(siteIdFromHost(`${a}.x.localhost`)).toBeUndefined()
    expect(siteIdFromHost(`${a}.${b}.sites.example`)).toBeUndefined()
    expect(siteIdFromHost(`${a}.${key}.sites.example`)).toBeUndefined()
    expect(siteIdFromHost(`${a}..localhost`)).toBeUndefined()
    expect(siteIdFromHost(`${a}.sites.example`)).toMatchObject({ id: a })
    expect(siteIdFromHost(`${a}.LOCALHOST`)).toMatchObject({ id: a })
  })
})
