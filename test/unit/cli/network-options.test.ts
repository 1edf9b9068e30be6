import { describe, expect, it } from 'vitest'
import { checkHostPort, networkInit } from '../../../cli/lib/network-options.js'
import { UsageError } from '../../../engine/errors.js'

const base = { tcp: true }

describe('networkInit', () => {
  it('listens everywhere and joins the DHT for a public swarm', () => {
    expect(networkInit(base, ['wss://tracker.example.org'])).toEqual({ tcp: true, host: '0.0.0.0', dht: true })
    expect(networkInit(base, [])).toEqual({ tcp: true, host: '0.0.0.0', dht: true })
  })

  it('stays on 127.0.0.1 without the DHT when every tracker is local, or with --local', () => {
    expect(networkInit(base, ['ws://127.0.0.1:8000', 'http://localhost:8000/announce'])).toEqual({ tcp: true, host: '127.0.0.1', dht: false })
    expect(networkInit(base, [], true)).toEqual({ tcp: true, host: '127.0.0.1', dht: false })
  })

  it('--no-dht, --no-tcp, --peer-port and --dht-bootstrap', () => {
    expect(networkInit({ ...base, dht: false }, ['wss://t.example']).dht).toBe(false)
    expect(networkInit({ tcp: false }, ['wss://t.example'])).toEqual({ tcp: false, host: '0.0.0.0', dht: false })
    expect(networkInit({ ...base, peerPort: 51413 }, []).port).toBe(51413)
    expect(() => networkInit({ ...base, peerPort: 70000 }, [])).toThrow(/invalid --peer-port/)
    // A local bootstrap node turns the DHT on in a local swarm (the tests' set-up).
    expect(networkInit({ ...base, dhtBootstrap: ['127.0.0.1:6881'] }, ['ws://127.0.0.1:1'])).toEqual({ tcp: true, host: '127.0.0.1', dht: true, dhtBootstrap: ['127.0.0.1:6881'] })
  })

  // Checked only as the DHT started: publish --no-seed, --no-dht or --no-tcp took any value in silence.
  it('refuses a bad --dht-bootstrap node whether or not the DHT starts', () => {
    for (const argv of [{ ...base, dht: false }, { tcp: false }, base]) {
      expect(() => networkInit({ ...argv, dhtBootstrap: ['bogus'] }, ['ws://127.0.0.1:1'])).toThrow(/^invalid --dht-bootstrap "bogus": expected HOST:PORT$/)
      expect(() => networkInit({ ...argv, dhtBootstrap: ['host:99999'] }, ['wss://t.example'])).toThrow(/invalid --dht-bootstrap "host:99999"/)
    }
  })

  it('refuses --local --dht without a bootstrap node (it would join the public DHT)', () => {
    expect(() => networkInit({ ...base, dht: true }, [], true)).toThrow(UsageError)
  })
})

describe('checkHostPort', () => {
  it('accepts HOST:PORT and [IPv6]:PORT, refuses the rest', () => {
    expect(checkHostPort('router.example.org:6881')).toBe('router.example.org:6881')
    expect(checkHostPort('[::1]:6881')).toBe('::1:6881')
    for (const bad of ['router.example.org', ':6881', 'h:0', 'h:70000', 'a b:1']) expect(() => checkHostPort(bad)).toThrow(/invalid --dht-bootstrap/)
  })
})
