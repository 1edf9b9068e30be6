import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../engine/errors.js'
import { addressWithTrackers, DEFAULT_TRACKERS, defaultIceServers, joinTrackers, parseIceServers, parsePort, validateTrackers } from '../../../cli/lib/trackers.js'

describe('validateTrackers', () => {
  it('keeps ws:// and wss:// URLs, once each, in order', () => {
    expect(validateTrackers(['wss://a.example.org', 'ws://127.0.0.1:8000', 'wss://a.example.org'])).toEqual(['wss://a.example.org', 'ws://127.0.0.1:8000'])
    expect(validateTrackers(DEFAULT_TRACKERS)).toEqual([...DEFAULT_TRACKERS])
  })

  it('keeps HTTP and UDP trackers too (Node peers announce to them for TCP peers)', () => {
    expect(validateTrackers(['http://a.example.org/announce', 'udp://a.example.org:6969', 'https://b.example.org/announce']))
      .toEqual(['http://a.example.org/announce', 'udp://a.example.org:6969', 'https://b.example.org/announce'])
  })

  it.each(['udp://a.example.org', 'ftp://a.example.org', 'a.example.org', 'ws://', ''])('refuses %j', (url) => {
    expect(() => validateTrackers([url])).toThrow(UsageError)
    expect(() => validateTrackers([url])).toThrow(`invalid tracker URL "${url}"`)
  })
})

describe('ICE configuration', () => {
  it('reads --ice-servers', () => {
    expect(parseIceServers(undefined)).toBeUndefined()
    expect(parseIceServers('default')).toBeUndefined()
    expect(parseIceServers('none')).toEqual({ iceServers: [] })
    expect(parseIceServers('stun:stun.example.org:3478, turn:turn.example.org')).toEqual({
      iceServers: [{ urls: ['stun:stun.example.org:3478', 'turn:turn.example.org'] }]
    })
    expect(() => parseIceServers('https://stun.example.org')).toThrow(/invalid --ice-servers entry/)
  })

  it('uses no STUN when every tracker is on this machine', () => {
    expect(defaultIceServers(['ws://127.0.0.1:8000'])).toBe('none')
    expect(defaultIceServers(['ws://localhost:8000', 'ws://[::1]:9'])).toBe('none')
    expect(defaultIceServers(['ws://127.0.0.1:8000', 'wss://tracker.webtorrent.dev'])).toBeUndefined()
    expect(defaultIceServers([])).toBeUndefined()
  })
})

describe('parsePort', () => {
  it('accepts 0-65535 and refuses the rest', () => {
    expect(parsePort(undefined, '--port')).toBeUndefined()
    expect(parsePort(0, '--port')).toBe(0)
    expect(parsePort('8080', '--port')).toBe(8080)
    for (const bad of [-1, 65536, 1.5, Number.NaN, 'abc']) expect(() => parsePort(bad, '--port')).toThrow(/invalid --port/)
  })
})

describe('joinTrackers', () => {
  it('joins the given trackers and the source\'s own without repeats, else the public ones', () => {
    expect(joinTrackers(['ws://127.0.0.1:1'], ['ws://127.0.0.1:1', 'udp://tracker.example:80', 'wss://t.example', 'dht://x']))
      .toEqual(['ws://127.0.0.1:1', 'udp://tracker.example:80', 'wss://t.example'])
    expect(joinTrackers([], ['http://tracker.example/announce'])).toEqual(['http://tracker.example/announce'])
    expect(joinTrackers([], ['dht://x'])).toEqual([...DEFAULT_TRACKERS])
  })
})

describe('addressWithTrackers', () => {
  // publish, seed and serve print a site key's address; printed bare, `get <address>` asked the public trackers.
  it('adds each WebSocket tracker as &tr=, percent-encoded, and leaves out the others (the pointer swarm is WebRTC only)', () => {
    const address = `magnet:?xs=urn:btpk:${'ab'.repeat(32)}`
    expect(addressWithTrackers(address, ['ws://127.0.0.1:8000', 'udp://tracker.example:80', 'wss://t.example/announce?x=1&y=2']))
      .toBe(`${address}&tr=ws%3A%2F%2F127.0.0.1%3A8000&tr=wss%3A%2F%2Ft.example%2Fannounce%3Fx%3D1%26y%3D2`)
    expect(addressWithTrackers(address, [])).toBe(address)
  })
})
