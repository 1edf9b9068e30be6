import { afterEach, describe, expect, it } from 'vitest'
import { AbortError, EngineClient, EngineReadError, type EnginePiece, type PieceRun } from '../../../worker/engine-client.js'
import type { EngineReply, EngineRequest } from '../../../worker/protocol.js'

const HASH = 'cd'.repeat(20)

function contentOf (length: number, seed = 3): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 13 + seed) % 256)
}

const open: MessagePort[] = []
afterEach(() => {
  for (const p of open.splice(0)) p.close()
})

/** The pieces holding bytes [offset, offset + length) of a file that is a torrent of its own (pieces of `size`). */
function run (path: string, offset: number, length: number, size: number): PieceRun {
  return { path, offset, length, first: Math.floor(offset / size), last: Math.floor((offset + length - 1) / size) }
}

/**
 * A fake engine on one end of a MessageChannel: answers `read`/`pull`/`cancel` like the leader page's engine, one
 * whole piece per pull (each file is a torrent of its own, pieces of `size` bytes), and logs every request. `silent`
 * makes it stop answering pulls (a tab that died).
 */
class FakeEngine {
  readonly port: MessagePort
  readonly workerPort: MessagePort
  readonly log: EngineRequest[] = []
  readonly reads = new Map<number, { path: string, next: number, last: number }>()
  silent = false
  /** reply to a pull with an error instead of a piece, after this many pieces */
  errorAfter = Infinity
  /** send `end` after this many pieces even if pieces remain */
  endAfter = Infinity
  sent = 0

  constructor (readonly files: Record<string, Uint8Array>, readonly size = 10) {
    const channel = new MessageChannel()
    this.port = channel.port1
    this.workerPort = channel.port2
    open.push(channel.port1, channel.port2)
    this.port.onmessage = (e: MessageEvent) => { this.onRequest(e.data as EngineRequest) }
  }

  get pulls (): number { return this.log.filter((m) => m.type === 'pull').length }
  get cancels (): number[] { return this.log.flatMap((m) => m.type === 'cancel' ? [m.id] : []) }
  get readsAsked (): Array<Omit<Extract<EngineRequest, { type: 'read' }>, 'type' | 'id'>> {
    return this.log.flatMap((m) => m.type === 'read' ? [{ path: m.path, offset: m.offset, length: m.length, first: m.first, last: m.last }] : [])
  }

  private send (msg: EngineReply, transfer: Transferable[] = []): void { this.port.postMessage(msg, transfer) }

  private onRequest (msg: EngineRequest): void {
    this.log.push(msg)
    if (msg.type === 'read') {
      const file = this.files[msg.path]
      if (file === undefined) return this.send({ type: 'error', id: msg.id, kind: 'not-found', message: `no file ${msg.path}` })
      this.reads.set(msg.id, { path: msg.path, next: msg.first, last: msg.last })
    } else if (msg.type === 'cancel') {
      this.reads.delete(msg.id)
    } else if (msg.type === 'pull') {
      const r = this.reads.get(msg.id)
      if (r === undefined || this.silent) return
      if (this.sent >= this.errorAfter) return this.send({ type: 'error', id: msg.id, kind: 'stall', message: 'piece unavailable' })
      if (r.next > r.last || this.sent >= this.endAfter) {
        this.reads.delete(msg.id)
        return this.send({ type: 'end', id: msg.id })
      }
      const file = this.files[r.path] ?? new Uint8Array()
      const bytes = file.slice(r.next * this.size, (r.next + 1) * this.size)
      const index = r.next++
      this.sent++
      const buffer = bytes.buffer as ArrayBuffer
      this.send({ type: 'piece', id: msg.id, index, bytes: buffer }, [buffer])
    }
  }
}

async function readAll (stream: ReadableStream<EnginePiece>): Promise<EnginePiece[]> {
  const parts: EnginePiece[] = []
  const reader = stream.getReader()
  for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value)
  return parts
}

/** The concatenated bytes of pieces, and their indexes. */
function joined (pieces: EnginePiece[]): { indexes: number[], bytes: Uint8Array } {
  const bytes = new Uint8Array(pieces.reduce((n, p) => n + p.bytes.length, 0))
  let at = 0
  for (const p of pieces) { bytes.set(p.bytes, at); at += p.bytes.length }
  return { indexes: pieces.map((p) => p.index), bytes }
}

const tick = async (ms = 20): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

describe('EngineClient', () => {
  it('streams the whole pieces of the run, in order, one pull per piece', async () => {
    const file = contentOf(1000)
    const engine = new FakeEngine({ 'media/clip.mp4': file }, 64)
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    const stream = await client.open(HASH, run('media/clip.mp4', 100, 500, 64))
    expect(engine.readsAsked).toEqual([{ path: 'media/clip.mp4', offset: 100, length: 500, first: 1, last: 9 }])
    const { indexes, bytes } = joined(await readAll(stream))
    expect(indexes).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    // whole pieces: from the start of piece 1 to the end of piece 9 (the worker slices and verifies)
    expect(bytes).toEqual(file.subarray(64, 640))
    // no pull beyond the last piece: the stream closes on it
    expect(engine.pulls).toBe(9)
  })

  it('pulls only when the consumer reads (no whole-file buffering)', async () => {
    const engine = new FakeEngine({ big: contentOf(10_000) }, 100)
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    const stream = await client.open(HASH, run('big', 0, 10_000, 100))
    await tick()
    // open waits for the first piece; that piece fills the stream's queue, so nothing more is asked for
    expect(engine.pulls).toBe(1)
    const reader = stream.getReader()
    for (let i = 0; i < 3; i++) await reader.read()
    await tick()
    expect(engine.pulls).toBeLessThanOrEqual(4)
    await reader.cancel()
  })

  it('keeps a window of pulls ahead of the consumer, never past the last piece', async () => {
    const file = contentOf(1000)
    const engine = new FakeEngine({ f: file }, 100)
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    const stream = await client.open(HASH, run('f', 0, 1000, 100), undefined, 4)
    await tick()
    // the first piece and three more on their way, without the consumer reading yet
    expect(engine.pulls).toBe(4)
    const { indexes, bytes } = joined(await readAll(stream))
    expect(indexes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(bytes).toEqual(file)
    expect(engine.pulls).toBe(10)
  })

  it('moves the pulls a read has out to a new leader', async () => {
    const file = contentOf(1000)
    const first = new FakeEngine({ f: file }, 100)
    const client = new EngineClient()
    client.setLeader(HASH, first.workerPort)
    const reader = (await client.open(HASH, run('f', 0, 1000, 100), undefined, 3)).getReader()
    expect((await reader.read()).value?.index).toBe(0)
    await tick()
    first.silent = true
    const second = new FakeEngine({ f: file }, 100)
    client.setLeader(HASH, second.workerPort)
    const rest: EnginePiece[] = []
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest.push(r.value)
    expect(rest.map((p) => p.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(joined(rest).bytes).toEqual(file.subarray(100))
  })

  it('sends cancel when the stream is cancelled', async () => {
    const engine = new FakeEngine({ big: contentOf(10_000) }, 100)
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    const reader = (await client.open(HASH, run('big', 0, 10_000, 100))).getReader()
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
    const reader = (await client.open(HASH, run('big', 0, 10_000, 100), ac.signal)).getReader()
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
    await expect(client.open(HASH, run('x', 0, 1, 10), ac.signal)).rejects.toBeInstanceOf(AbortError)
    const ac2 = new AbortController()
    const pending = client.open(HASH, run('x', 0, 1, 10), ac2.signal)
    ac2.abort()
    await expect(pending).rejects.toBeInstanceOf(AbortError)
  })

  it('frees the engine\'s read with cancel once the last piece is in (no final round trip)', async () => {
    const engine = new FakeEngine({ f: contentOf(30) }, 10)
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    expect(joined(await readAll(await client.open(HASH, run('f', 0, 30, 10)))).bytes).toEqual(contentOf(30))
    await tick()
    expect(engine.pulls).toBe(3)
    expect(engine.cancels).toEqual([1])
    expect(engine.reads.size).toBe(0)
  })

  it('asks the pages for a leader when it has none, and reads once one answers', async () => {
    const engine = new FakeEngine({ f: contentOf(50) }, 20)
    let asked = 0
    const client = new EngineClient({ requestLeader: () => { asked++ }, leaderTimeoutMs: 2_000 })
    expect(client.hasLeader!(HASH)).toBe(false)
    const pending = client.open(HASH, run('f', 0, 50, 20))
    await tick()
    expect(asked).toBe(1)
    client.setLeader(HASH, engine.workerPort)
    expect(joined(await readAll(await pending)).bytes).toEqual(contentOf(50))
  })

  it('holds a sectioned index\'s hint sent before the leader page has introduced itself, and posts it to that leader', async () => {
    const engine = new FakeEngine({})
    let asked = 0
    const client = new EngineClient({ requestLeader: () => { asked++ }, leaderTimeoutMs: 2_000 })
    const hashes = new Uint8Array(20).fill(7).buffer
    client.hint!(HASH, { type: 'preload', page: 'deep/page.html', needs: [{ offset: 0, length: 10, hashes }], likely: [] }, [hashes])
    // Past the wait's second ask (a third of the timeout, in a read's wait).
    await tick(800)
    // A hint never asks the pages for a leader: that would start a return visit's engine at once (loader/index.html).
    expect(asked).toBe(0)
    client.setLeader(HASH, engine.workerPort)
    await tick()
    await tick()
    expect(engine.log.map((m) => m.type === 'preload' ? m.page : m.type)).toEqual(['deep/page.html'])
    const sent = engine.log[0] as Extract<EngineRequest, { type: 'preload' }>
    expect(new Uint8Array(sent.needs[0]!.hashes)).toEqual(new Uint8Array(20).fill(7))
  })

  it('drops a hint when no leader comes in time, without an error', async () => {
    const client = new EngineClient({ leaderTimeoutMs: 50 })
    client.hint!(HASH, { type: 'preload', page: 'p.html', needs: [], likely: [] })
    await new Promise((resolve) => setTimeout(resolve, 120))
    const engine = new FakeEngine({})
    client.setLeader(HASH, engine.workerPort)
    await tick()
    expect(engine.log).toEqual([])
  })

  it('asks once for many reads waiting at the same time', async () => {
    let asked = 0
    const client = new EngineClient({ requestLeader: () => { asked++ }, leaderTimeoutMs: 2_000 })
    const engine = new FakeEngine({ f: contentOf(50) }, 10)
    const pending = [0, 1, 2, 3].map(async (i) => await client.open(HASH, run('f', i * 10, 10, 10)))
    await tick()
    expect(asked).toBe(1)
    client.setLeader(HASH, engine.workerPort)
    const parts = await Promise.all(pending.map(async (p) => joined(await readAll(await p)).bytes))
    expect(parts).toEqual([0, 1, 2, 3].map((i) => contentOf(50).subarray(i * 10, i * 10 + 10)))
  })

  it('times out with an `unavailable` EngineReadError when no leader answers', async () => {
    const client = new EngineClient({ leaderTimeoutMs: 100 })
    const err = await client.open(HASH, run('f', 0, 10, 10)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(EngineReadError)
    expect((err as EngineReadError).kind).toBe('unavailable')
    expect((err as Error).message).toMatch(/no page of this site runs an engine/)
  })

  it('uses only a leader of the same infohash', async () => {
    const other = new FakeEngine({ f: contentOf(10) })
    const client = new EngineClient({ leaderTimeoutMs: 100 })
    client.setLeader('ee'.repeat(20), other.workerPort)
    await expect(client.open(HASH, run('f', 0, 10, 10))).rejects.toBeInstanceOf(EngineReadError)
    expect(other.log).toEqual([])
  })

  it('times out a pull nobody answers as a `stall` with its reason, and tells the engine', async () => {
    const engine = new FakeEngine({ f: contentOf(100) }, 10)
    engine.silent = true
    const client = new EngineClient({ stallTimeoutMs: 100 })
    client.setLeader(HASH, engine.workerPort)
    const err = await client.open(HASH, run('f', 0, 100, 10)).catch((e: unknown) => e)
    expect((err as EngineReadError).kind).toBe('stall')
    expect((err as Error).message).toMatch(/no peer delivered f within/)
    await tick()
    expect(engine.cancels).toEqual([1])
  })

  it('passes the engine\'s typed error on: a missing file is `not-found`', async () => {
    const engine = new FakeEngine({})
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    const err = await client.open(HASH, run('missing', 0, 10, 10)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(EngineReadError)
    expect((err as EngineReadError).kind).toBe('not-found')
    expect((err as Error).message).toMatch(/no file missing/)
  })

  it('errors the stream when the engine reports an error after some pieces', async () => {
    const engine = new FakeEngine({ f: contentOf(100) }, 10)
    engine.errorAfter = 3
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    const stream = await client.open(HASH, run('f', 0, 100, 10))
    await expect(readAll(stream)).rejects.toThrow(/piece unavailable/)
  })

  it('errors the stream when the engine ends before the last piece', async () => {
    const engine = new FakeEngine({ f: contentOf(100) }, 10)
    engine.endAfter = 2
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    const stream = await client.open(HASH, run('f', 0, 100, 10))
    await expect(readAll(stream)).rejects.toBeInstanceOf(EngineReadError)
  })

  it('fails the read (`verification`) when the engine sends a piece out of order', async () => {
    const engine = new FakeEngine({ f: contentOf(100) }, 10)
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    // a misbehaving engine that answers every pull with piece 7
    engine.port.onmessage = (e: MessageEvent) => {
      const msg = e.data as EngineRequest
      engine.log.push(msg)
      if (msg.type === 'pull') {
        const b = contentOf(10).buffer as ArrayBuffer
        engine.port.postMessage({ type: 'piece', id: msg.id, index: 7, bytes: b } satisfies EngineReply, [b])
      }
    }
    const err = await client.open(HASH, run('f', 0, 25, 10)).catch((e: unknown) => e)
    expect((err as EngineReadError).kind).toBe('verification')
    await tick()
    expect(engine.cancels).toEqual([1])
  })

  it('fails the read (`verification`) when the engine sends pieces nobody pulled, never queuing them', async () => {
    const engine = new FakeEngine({ f: contentOf(100) }, 10)
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    // a misbehaving engine that answers the first pull with every piece of the run, in order
    engine.port.onmessage = (e: MessageEvent) => {
      const msg = e.data as EngineRequest
      engine.log.push(msg)
      if (msg.type === 'pull' && engine.pulls === 1) {
        for (let index = 0; index < 10; index++) {
          const b = contentOf(10, index).buffer as ArrayBuffer
          engine.port.postMessage({ type: 'piece', id: msg.id, index, bytes: b } satisfies EngineReply, [b])
        }
      }
    }
    const stream = await client.open(HASH, run('f', 0, 100, 10))
    // Nobody reads meanwhile: the pieces 1-9 arrive with no pull of theirs outstanding.
    await tick()
    const err = await readAll(stream).catch((e: unknown) => e)
    expect((err as EngineReadError).kind).toBe('verification')
    expect(engine.pulls).toBe(1)
    expect(engine.cancels).toEqual([1])
  })

  it('keeps at most 8 leaders: a port per made-up infohash drops the oldest idle one, never one with a read running', async () => {
    const engine = new FakeEngine({ f: contentOf(100) }, 10)
    const client = new EngineClient()
    client.setLeader(HASH, engine.workerPort)
    const idle = new MessageChannel()
    open.push(idle.port1, idle.port2)
    client.setLeader('ab'.repeat(20), idle.port2)
    engine.silent = true
    const reading = client.open(HASH, run('f', 0, 10, 10)).catch(() => {})
    await tick()
    const hashes = Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(40, '0'))
    for (const h of hashes) {
      const c = new MessageChannel()
      open.push(c.port1, c.port2)
      client.setLeader(h, c.port2)
    }
    expect(client.hasLeader!(HASH)).toBe(true)
    expect(client.hasLeader!('ab'.repeat(20))).toBe(false)
    expect(hashes.filter((h) => client.hasLeader!(h))).toEqual(hashes.slice(-7))
    engine.silent = false
    void reading
  })

  it('tells the engine of a bad piece; distrusted, the port is dropped and the pages are asked for a leader', async () => {
    const engine = new FakeEngine({ f: contentOf(100) }, 10)
    let asked = 0
    const client = new EngineClient({ requestLeader: () => { asked++ } })
    client.setLeader(HASH, engine.workerPort)
    client.reject(HASH, 4)
    await tick()
    expect(engine.log).toEqual([{ type: 'bad-piece', index: 4 }])
    expect(client.hasLeader!(HASH)).toBe(true)
    client.reject(HASH, 4, true)
    await tick()
    expect(engine.log).toHaveLength(2)
    expect(client.hasLeader!(HASH)).toBe(false)
    expect(asked).toBe(1)
  })

  it('hands a running read over to a new leader, which continues at the next piece', async () => {
    const file = contentOf(300)
    const first = new FakeEngine({ f: file }, 50)
    const client = new EngineClient({ stallTimeoutMs: 5_000 })
    client.setLeader(HASH, first.workerPort)
    const reader = (await client.open(HASH, run('f', 10, 280, 50))).getReader()
    const got: EnginePiece[] = []
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
    const { indexes, bytes } = joined(got)
    expect(indexes).toEqual([0, 1, 2, 3, 4, 5])
    expect(bytes).toEqual(file)
    // 2 pieces came from the old leader, the rest from the new one, under the same id
    expect(second.readsAsked).toEqual([{ path: 'f', offset: 10, length: 280, first: 2, last: 5 }])
    expect(first.cancels).toEqual([1])
    // later reads go to the newest port
    await readAll(await client.open(HASH, run('f', 0, 10, 50)))
    expect(second.readsAsked).toHaveLength(2)
    expect(first.readsAsked).toHaveLength(1)
  })

  it('a leader page that says it is gone: the read waiting on it asks the pages for a leader and moves to the new one', async () => {
    // Chromium has no MessagePort close event: a leader tab reloaded (or sent to an address typed in it) only says
    // `gone` as it leaves, and the new page's first read may already be on its port. The new page's shell starts its
    // engine when asked (loader/index.html), so the worker must ask, not wait for it.
    const file = contentOf(30)
    const first = new FakeEngine({ f: file })
    first.silent = true
    let asked = 0
    const client = new EngineClient({ requestLeader: () => { asked++ }, leaderTimeoutMs: 2_000 })
    client.setLeader(HASH, first.workerPort)
    const pending = client.open(HASH, run('f', 0, 30, 10))
    await tick()
    expect(asked).toBe(0)
    first.port.postMessage({ type: 'gone' })
    await tick()
    expect(asked).toBe(1)
    expect(client.hasLeader!(HASH)).toBe(false)
    const second = new FakeEngine({ f: file })
    client.setLeader(HASH, second.workerPort)
    expect(joined(await readAll(await pending)).bytes).toEqual(file)
    expect(second.readsAsked).toEqual([{ path: 'f', offset: 0, length: 30, first: 0, last: 2 }])
  })

  it('a leader page that is gone with no read waiting: nobody is asked until the next read, which asks', async () => {
    const first = new FakeEngine({ f: contentOf(10) })
    let asked = 0
    const client = new EngineClient({ requestLeader: () => { asked++ }, leaderTimeoutMs: 2_000 })
    client.setLeader(HASH, first.workerPort)
    first.port.postMessage({ type: 'gone' })
    await tick()
    expect(asked).toBe(0)
    expect(client.hasLeader!(HASH)).toBe(false)
    const pending = client.open(HASH, run('f', 0, 10, 10))
    await tick()
    expect(asked).toBe(1)
    client.setLeader(HASH, new FakeEngine({ f: contentOf(10) }).workerPort)
    expect(joined(await readAll(await pending)).bytes).toEqual(contentOf(10))
  })

  it('notices a closed leader port; the next read asks for a new leader', async () => {
    const first = new FakeEngine({ f: contentOf(10) })
    let asked = 0
    const client = new EngineClient({ requestLeader: () => { asked++ }, leaderTimeoutMs: 2_000 })
    client.setLeader(HASH, first.workerPort)
    expect(client.hasLeader!(HASH)).toBe(true)
    first.port.close()
    await tick(50)
    expect(client.hasLeader!(HASH)).toBe(false)
    const pending = client.open(HASH, run('f', 0, 10, 10))
    await tick()
    expect(asked).toBe(1)
    const second = new FakeEngine({ f: contentOf(10) })
    client.setLeader(HASH, second.workerPort)
    expect(joined(await readAll(await pending)).bytes).toEqual(contentOf(10))
  })
})
