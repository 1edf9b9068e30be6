import { afterEach, describe, expect, it } from 'vitest'
import { EngineHost } from '../../../loader/engine-host.js'
import type { Torrent } from '../../../engine/torrent.js'

const ports: MessagePort[] = []
afterEach(() => {
  for (const p of ports.splice(0)) p.close()
})

describe('EngineHost.close', () => {
  it('tells the worker the leader page is gone before it closes the port (Chromium has no MessagePort close event)', async () => {
    const channel = new MessageChannel()
    ports.push(channel.port1, channel.port2)
    const got: unknown[] = []
    channel.port2.onmessage = (event: MessageEvent) => { got.push(event.data) }
    // The torrent is never read: no request comes before the close.
    const host = new EngineHost(channel.port1, new Promise<Torrent>(() => {}))
    host.close()
    host.close()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(got).toEqual([{ type: 'gone' }])
  })
})
