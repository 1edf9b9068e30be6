import { afterEach, describe, expect, it } from 'vitest'
import { AbortError } from '../../../engine/errors.js'
import { EngineClient, EngineUnavailableError } from '../../../worker/engine-client.js'
import type { EngineReply, EngineRequest } from '../../../worker/protocol.js'

const HASH = 'cd'.repeat(20)

function contentOf (length: number, seed = 3): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 13 + seed) % 256)
}

const open: MessagePort[] = []
afterEach(() => {
  for (const p of open.splice(0)) p.close()
})

/**
 * A fake engine on one end of a MessageChannel: answers `read`/`pull`/`cancel` like the leader page's engine,
 * one chunk per pull, and logs every request. `silent` makes it stop answering pulls (a tab that died).
 */
class FakeEngine {
  readonly port: MessagePort
  readonly workerPort: MessagePort
  readonly log: EngineRequest[] = []
  readonly reads = new Map<number, { path: string, pos: number, end: number }>()
  silent = false
  /** reply to a pull with an error instead of a chunk, after this many chunks */
  errorAfter = Infinity
  /** send `end` after this many chunks even if bytes remain */
  endAfter = Infinity
  sent = 0

  constructor (readonly files: Record<string, Uint8Array>, readonly chunk = 10) {
    const channel = new MessageChannel()
    this.port = channel.port1
    this.workerPort = channel.port2
    open.push(channel.port1, channel.port2)
    this.port.onmessage = (e: MessageEvent) => { this.onRequest(e.data as EngineRequest) }
  }

  get pulls (): number { return this.log.filter((m) => m.type === 'pull').length }
  get cancels (): number[] { return this.log.flatMap((m) => m.type === 'cancel' ? [m.id] : []) }
  get readsAsked (): Array<Omit<Extract<EngineRequest, { type: 'read' }>, 'type' | 'id'>> {
    return this.log.flatMap((m) => m.type === 'read' ? [{ path: m.path, offset: m.offset, length: m.length }] : [])
  }

  private send (msg: EngineReply, transfer: Transferable[] = []): void { this.port.postMessage(msg, transfer) }

  private onRequest (msg: EngineRequest): void {
    this.log.push(msg)
    if (msg.type === 'read') {
      const file = this.files[msg.path]
      if (file === undefined) return this.send({ type: 'error', id: msg.id, message: `no file ${msg.path}` })
      this.reads.set(msg.id, { path: msg.path, pos: msg.offset, end: msg.offset + msg.length })
    } else if (msg.type === 'cancel') {
      this.reads.delete(msg.id)
    } else if (msg.type === 'pull') {
      const r = this.reads.get(msg.id)
      if (r === undefined || this.silent) return
      if (this.sent >= this.errorAfter) return this.send({ type: 'error', id: msg.id, message: 'piece unavailable' })
      if (r.pos >= r.end || this.sent >= this.endAfter) {
        this.reads.delete(msg.id)
        return this.send({ type: 'end', id: msg.id })
      }
      const file = this.files[r.path] ?? new Uint8Array()
      const bytes = file.slice(r.pos, Math.min(r.end, r.pos + this.chunk))
      r.pos += bytes.length
      this.sent++
      this.send({ type: 'chunk', id: msg.id, bytes: bytes.buffer }, [bytes.buffer])
    }
  }
}

async function readAll (stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  const reader = stream.getReader()
  for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value)
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

const tick = async (ms = 20): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

describe('EngineClient', () => {
  it('streams exactly the bytes of the range, in order, one pull per chunk', async () => {
    const file = contentOf(1000)
    const engine = new FakeEngine({ 'media/clip.mp4': file }, 64)
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    const stream = await client.open(HASH, 'media/clip.mp4', 100, 500)
    expect(engine.readsAsked).toEqual([{ path: 'media/clip.mp4', offset: 100, length: 500 }])
    const bytes = await readAll(stream)
    expect(bytes).toEqual(file.subarray(100, 600))
    // ceil(500 / 64) = 8 chunks, and no pull beyond them: the stream closes on the last byte
    expect(engine.pulls).toBe(8)
  })

  it('pulls only when the consumer reads (no whole-file buffering)', async () => {
    const engine = new FakeEngine({ big: contentOf(10_000) }, 100)
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    const stream = await client.open(HASH, 'big', 0, 10_000)
    await tick()
    // open waits for the first chunk; that chunk fills the stream's queue, so nothing more is asked for
    expect(engine.pulls).toBe(1)
    const reader = stream.getReader()
    for (let i = 0; i < 3; i++) await reader.read()
    await tick()
    expect(engine.pulls).toBeLessThanOrEqual(4)
    await reader.cancel()
  })

  it('sends cancel when the stream is cancelled', async () => {
    const engine = new FakeEngine({ big: contentOf(10_000) }, 100)
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    const stream = await client.open(HASH, 'big', 0, 10_000)
    const reader = stream.getReader()
    await reader.read()
    await reader.cancel()
    await tick()
    expect(engine.cancels).toEqual([1])
    expect(engine.reads.size).toBe(0)
  })

  it('sends cancel and errors the stream when the request is aborted', async () => {
    const engine = new FakeEngine({ big: contentOf(10_000) }, 100)
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    const ac = new AbortController()
    const stream = await client.open(HASH, 'big', 0, 10_000, ac.signal)
    const reader = stream.getReader()
    await reader.read()
    ac.abort()
    await expect(reader.read()).rejects.toBeInstanceOf(AbortError)
    await tick()
    expect(engine.cancels).toHaveLength(1)
  })

  it('rejects at once when the signal is already aborted, or aborts a wait for a leader', async () => {
    const client = new EngineClient({ leaderTimeoutMs: 5_000 })
    const ac = new AbortController()
    ac.abort()
    await expect(client.open(HASH, 'x', 0, 1, ac.signal)).rejects.toBeInstanceOf(AbortError)
    const ac2 = new AbortController()
    const pending = client.open(HASH, 'x', 0, 1, ac2.signal)
    ac2.abort()
    await expect(pending).rejects.toBeInstanceOf(AbortError)
  })

  it('frees the engine\'s read with cancel once every byte is in (no final round trip)', async () => {
    const engine = new FakeEngine({ f: contentOf(30) }, 10)
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    expect(await readAll(await client.open(HASH, 'f', 0, 30))).toEqual(contentOf(30))
    await tick()
    expect(engine.pulls).toBe(3)
    expect(engine.cancels).toEqual([1])
    expect(engine.reads.size).toBe(0)
  })

  it('asks the pages for a leader when it has none, and reads once one answers', async () => {
    const engine = new FakeEngine({ f: contentOf(50) }, 20)
    let asked = 0
    const client = new EngineClient({ requestLeader: () => { asked++ }, leaderTimeoutMs: 2_000 })
    expect(client.hasLeader(HASH)).toBe(false)
    const pending = client.open(HASH, 'f', 0, 50)
    await tick()
    expect(asked).toBe(1)
    client.setLeader(HASH, engine.workerPort)
    expect(await readAll(await pending)).toEqual(contentOf(50))
  })

  it('asks once for many reads waiting at the same time', async () => {
    let asked = 0
    const client = new EngineClient({ requestLeader: () => { asked++ }, leaderTimeoutMs: 2_000 })
    const engine = new FakeEngine({ f: contentOf(50) }, 20)
    const pending = [0, 1, 2, 3].map(async (i) => await client.open(HASH, 'f', i * 10, 10))
    await tick()
    expect(asked).toBe(1)
    client.setLeader(HASH, engine.workerPort)
    const parts = await Promise.all(pending.map(async (p) => await readAll(await p)))
    expect(parts).toEqual([0, 1, 2, 3].map((i) => contentOf(50).subarray(i * 10, i * 10 + 10)))
  })

  it('times out with EngineUnavailableError when no leader answers', async () => {
    const client = new EngineClient({ leaderTimeoutMs: 100 })
    const started = Date.now()
    await expect(client.open(HASH, 'f', 0, 10)).rejects.toBeInstanceOf(EngineUnavailableError)
    expect(Date.now() - started).toBeGreaterThanOrEqual(90)
  })

  it('uses only a leader of the same infohash', async () => {
    const other = new FakeEngine({ f: contentOf(10) })
    const client = new EngineClient({ leaderTimeoutMs: 100 })
    client.setLeader('ee'.repeat(20), other.workerPort)
    await expect(client.open(HASH, 'f', 0, 10)).rejects.toBeInstanceOf(EngineUnavailableError)
    expect(other.log).toEqual([])
  })

  it('times out a pull nobody answers, and tells the engine', async () => {
    const engine = new FakeEngine({ f: contentOf(100) }, 10)
    engine.silent = true
    const client = new EngineClient({ stallTimeoutMs: 100 })
    client.setLeader(HASH, engine.workerPort)
    await expect(client.open(HASH, 'f', 0, 100)).rejects.toBeInstanceOf(EngineUnavailableError)
    await tick()
    expect(engine.cancels).toEqual([1])
  })

  it('rejects open when the engine reports an error before the first byte', async () => {
    const engine = new FakeEngine({})
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    await expect(client.open(HASH, 'missing', 0, 10)).rejects.toThrow(/no file missing/)
  })

  it('errors the stream when the engine reports an error after some bytes', async () => {
    const engine = new FakeEngine({ f: contentOf(100) }, 10)
    engine.errorAfter = 3
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    const stream = await client.open(HASH, 'f', 0, 100)
    await expect(readAll(stream)).rejects.toThrow(/piece unavailable/)
  })

  it('errors the stream when the engine ends before the range is complete', async () => {
    const engine = new FakeEngine({ f: contentOf(100) }, 10)
    engine.endAfter = 2
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    const stream = await client.open(HASH, 'f', 0, 100)
    await expect(readAll(stream)).rejects.toBeInstanceOf(EngineUnavailableError)
  })

  it('never passes on more bytes than asked', async () => {
    const engine = new FakeEngine({ f: contentOf(100) }, 10)
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    // a misbehaving engine that answers the first pull with the whole file
    engine.port.onmessage = (e: MessageEvent) => {
      const msg = e.data as EngineRequest
      if (msg.type === 'pull') {
        const b = contentOf(100).slice()
        engine.port.postMessage({ type: 'chunk', id: msg.id, bytes: b.buffer } satisfies EngineReply, [b.buffer])
      }
    }
    expect(await readAll(await client.open(HASH, 'f', 0, 25))).toEqual(contentOf(100).subarray(0, 25))
  })

  it('hands a running read over to a new leader, which continues where the old one stopped', async () => {
    const file = contentOf(300)
    const first = new FakeEngine({ f: file }, 50)
    const client = new EngineClient({ stallTimeoutMs: 5_000 })
    client.setLeader(HASH, first.workerPort)
    const stream = await client.open(HASH, 'f', 10, 280)
    const reader = stream.getReader()
    const got: Uint8Array[] = []
    for (let i = 0; i < 2; i++) {
      const { value } = await reader.read()
      if (value !== undefined) got.push(value)
    }
    // the leader tab dies mid-read: its pulls go unanswered
    first.silent = true
    const pendingRead = reader.read()
    await tick()
    const second = new FakeEngine({ f: file }, 50)
    client.setLeader(HASH, second.workerPort)
    const next = await pendingRead
    if (next.value !== undefined) got.push(next.value)
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      got.push(value)
    }
    const all = new Uint8Array(got.reduce((n, p) => n + p.length, 0))
    let at = 0
    for (const p of got) { all.set(p, at); at += p.length }
    expect(all).toEqual(file.subarray(10, 290))
    // 2 chunks (100 bytes) came from the old leader, the remaining 180 from the new one, under the same id
    expect(second.readsAsked).toEqual([{ path: 'f', offset: 110, length: 180 }])
    expect(first.cancels).toEqual([1])
    // later reads go to the newest port
    await readAll(await client.open(HASH, 'f', 0, 10))
    expect(second.readsAsked).toHaveLength(2)
    expect(first.readsAsked).toHaveLength(1)
  })

  it('notices a closed leader port; the next read asks for a new leader', async () => {
    const first = new FakeEngine({ f: contentOf(10) })
    let asked = 0
    const client = new EngineClient({ requestLeader: () => { asked++ }, leaderTimeoutMs: 2_000 })
    client.setLeader(HASH, first.workerPort)
    expect(client.hasLeader(HASH)).toBe(true)
    first.port.close()
    await tick(50)
    expect(client.hasLeader(HASH)).toBe(false)
    const pending = client.open(HASH, 'f', 0, 10)
    await tick()
    expect(asked).toBe(1)
    const second = new FakeEngine({ f: contentOf(10) })
    client.setLeader(HASH, second.workerPort)
    expect(await readAll(await pending)).toEqual(contentOf(10))
  })
})
