/**
 * `peersite gateway`'s warnings go through warningPrinter, as get's, seed's, serve's and mirror's do: one that
 * repeats is printed once. The gateway's only warning is a request it failed to answer, which no request is known to
 * cause, so the server is a stand-in here that hands the warning function to the test.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { OriginGatewayInit } from '../../../cli/lib/origin-gateway.js'

const started: OriginGatewayInit[] = []

vi.mock('../../../cli/lib/origin-gateway.js', () => ({
  startOriginGateway: async (init: OriginGatewayInit) => {
    started.push(init)
    return { url: 'http://localhost:1/', port: 1, siteUrl: () => '', requests: [], close: async () => {} }
  }
}))

// Stopped at once, as by Ctrl-C, once the warnings are given.
vi.mock('../../../cli/lib/signals.js', () => ({
  waitForShutdown: async () => {
    await new Promise((resolve) => setTimeout(resolve, 0))
    const { onWarning } = started[0]!
    for (let i = 0; i < 3; i++) onWarning?.('answering /x: something failed')
    onWarning?.('answering /y: something else failed')
    return 'SIGINT'
  }
}))

afterEach(() => { vi.restoreAllMocks() })

describe('peersite gateway: warnings', () => {
  it('prints a repeated warning once', async () => {
    const { run } = await import('../../../cli/run/gateway.js')
    const stderr: string[] = []
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { stderr.push(String(chunk)); return true })
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    await run({ port: 0, host: '127.0.0.1', tracker: ['ws://127.0.0.1:9'], iceServers: 'none', 'ice-servers': 'none', _: [], $0: 'peersite' })
    vi.restoreAllMocks()
    const warnings = stderr.join('').split('\n').filter((l) => l.startsWith('peersite: warning: '))
    expect(warnings).toEqual(['peersite: warning: answering /x: something failed', 'peersite: warning: answering /y: something else failed'])
  })
})
