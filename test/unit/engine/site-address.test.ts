import { describe, expect, it } from 'vitest'
import { gatewayUrl, parseSiteAddress } from '../../../engine/util/site-address.js'
import { base32Encode, siteIdOf } from '../../../engine/util/site-id.js'

const INFOHASH = '0123456789abcdef0123456789abcdef01234567'
const ID = siteIdOf(INFOHASH)

describe('what a visitor may paste on the gateway front page', () => {
  it('an infohash in hex or base32, a site id, a gateway address', () => {
    const bytes = Uint8Array.from(INFOHASH.match(/../g)!.map((h) => parseInt(h, 16)))
    for (const text of [INFOHASH, INFOHASH.toUpperCase(), ` ${ID} `, base32Encode(bytes).toUpperCase(), `http://${ID}.localhost:8888/docs/`]) {
      expect(parseSiteAddress(text)?.site).toMatchObject({ kind: 'infohash', infoHash: INFOHASH })
    }
  })

  it('a magnet link, with its WebSocket trackers only', () => {
    const magnet = `magnet:?xt=urn:btih:${INFOHASH}&dn=x&tr=${encodeURIComponent('wss://a.example')}&tr=${encodeURIComponent('udp://b.example:80')}`
    expect(parseSiteAddress(magnet)).toEqual({ site: { kind: 'infohash', id: ID, infoHash: INFOHASH }, trackers: ['wss://a.example'] })
    const key = 'ab'.repeat(32)
    expect(parseSiteAddress(`magnet:?xs=urn:btpk:${key}`)?.site).toMatchObject({ kind: 'key', publicKey: key })
    // A key where an infohash belongs is not taken.
    expect(parseSiteAddress(`magnet:?xt=urn:btih:${key}`)).toBeUndefined()
  })

  it('anything else is refused', () => {
    for (const text of ['', 'hello', INFOHASH.slice(1), 'magnet:?dn=x', 'http://localhost:8888/']) expect(parseSiteAddress(text)).toBeUndefined()
  })

  it('the site\'s gateway address: its own origin, the magnet\'s trackers in the fragment', () => {
    const address = parseSiteAddress(`magnet:?xt=urn:btih:${INFOHASH}&tr=${encodeURIComponent('wss://a.example')}`)!
    expect(gatewayUrl(new URL('http://127.0.0.1:8888/'), address)).toBe(`http://${ID}.localhost:8888/#peersite-tr=${encodeURIComponent('wss://a.example')}`)
    expect(gatewayUrl(new URL('https://sites.example/'), { ...address, trackers: [] }, '/a/?b')).toBe(`https://${ID}.sites.example/a/?b`)
  })
})
