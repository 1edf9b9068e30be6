/**
 * The remote's DTLS fingerprint is read from its SDP, which a hostile peer writes as it likes (through a tracker): an
 * answer's is read before the browser parses it (WebRtcConnection.accept). The expression must be linear in the
 * SDP's length: a backtracking one spent seconds, then minutes, on one long line of spaces, blocking the page.
 */
import { describe, expect, it } from 'vitest'
import { sdpFingerprint } from '../../../../engine/transport/index.js'

describe('sdpFingerprint', () => {
  it('reads the first fingerprint line, upper-cased, without trailing white space', () => {
    const sdp = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 'a=fingerprint:sha-256 ab:cd:EF  ', 'a=fingerprint:sha-1 00', 'a=setup:actpass', ''].join('\r\n')
    expect(sdpFingerprint(sdp)).toBe('SHA-256 AB:CD:EF')
    expect(sdpFingerprint('a=fingerprint:sha-256 x')).toBe('SHA-256 X')
    expect(sdpFingerprint('v=0\r\n')).toBeUndefined()
    expect(sdpFingerprint(undefined)).toBeUndefined()
  })

  it('reads a crafted SDP with a long line of spaces at once (the old expression took quadratic time on it)', () => {
    // 200,000 spaces: about 5 minutes for the backtracking expression, a millisecond for a linear one.
    const spaces = ' '.repeat(200_000)
    expect(sdpFingerprint(`v=0\r\na=fingerprint:sha-256 x${spaces}y\r\n`)).toBe(`SHA-256 X${spaces}Y`)
    expect(sdpFingerprint(`v=0\r\na=fingerprint:${spaces}\r\na=fingerprint:sha-256 z\r\n`)).toBeDefined()
  })
})
