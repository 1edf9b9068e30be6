/** PointerExchange: who is told which record, and the peer policy for garbage, forgeries, rollbacks and forks. */
import { describe, expect, it } from 'vitest'
import { POINTER_MAX_RECORDS_PER_PEER } from '../../../engine/constants.js'
import type { PointerError } from '../../../engine/errors.js'
import { PEERSITE_POINTER, decodePointerMessage, encodePointerMessage } from '../../../engine/extensions/peersite_pointer.js'
import { generateEd25519, nodeSigner, nodeVerifier } from '../../../engine/pointer/node.js'
import { PointerBook, signPointer, type VerifiedPointer } from '../../../engine/pointer/index.js'
import { PointerExchange, PointerHub, type PointerPeer } from '../../../engine/pointer-exchange.js'
import { utf8 } from '../../../engine/util/bytes.js'

const V1 = '1111111111111111111111111111111111111111'
const V2 = '2222222222222222222222222222222222222222'
const V3 = '3333333333333333333333333333333333333333'
const site = generateEd25519()
const sign = async (seq: number, infoHash: string) => await signPointer(nodeSigner(site.seed), { seq, infoHash })

class FakePeer implements PointerPeer {
  readonly sent: number[] = []
  destroyed = false
  extended: { m: Record<string, number> } | undefined
  constructor (readonly name: string, speaks = true) {
    this.extended = { m: speaks ? { ut_metadata: 1, [PEERSITE_POINTER]: 3 } : { ut_metadata: 1 } }
  }

  writeExtension (name: string, payload: Uint8Array): boolean {
    if (this.destroyed || this.extended?.m[name] === undefined) return false
    this.sent.push(decodePointerMessage(payload).seq)
    return true
  }

  destroy (): void {
    this.destroyed = true
  }
}

function setup () {
  const book = new PointerBook({ verifier: nodeVerifier }, { publicKey: site.publicKey })
  const warnings: Array<[string, string]> = []
  const newer: Array<[number, string | undefined]> = []
  const refused: Array<[string, string]> = []
  const exchange = new PointerExchange<FakePeer>({
    book,
    warn: (peer, err) => warnings.push([peer.name, err.message]),
    onNewer: (record: VerifiedPointer, peer) => newer.push([record.seq, peer?.name]),
    onRefused: (error: PointerError, peer) => refused.push([peer.name, error.reason])
  })
  return { book, exchange, warnings, newer, refused }
}

describe('PointerExchange', () => {
  it('sends the current record after the extended handshake, to peers that speak the extension only', async () => {
    const { exchange } = setup()
    await exchange.publish(await sign(10, V1))
    const a = new FakePeer('a')
    const mute = new FakePeer('mute', false)
    exchange.onExtendedHandshake(a)
    exchange.onExtendedHandshake(mute)
    exchange.onExtendedHandshake(a) // a repeated handshake sends nothing new
    expect(a.sent).toEqual([10])
    expect(mute.sent).toEqual([])
  })

  it('passes a newer record on to every other peer once, not back to its sender', async () => {
    const { exchange, newer } = setup()
    const [a, b, c] = [new FakePeer('a'), new FakePeer('b'), new FakePeer('c')]
    for (const p of [a, b, c]) exchange.onExtendedHandshake(p)
    await exchange.onMessage(a, encodePointerMessage(await sign(20, V2)))
    expect(newer).toEqual([[20, 'a']])
    expect(a.sent).toEqual([])
    expect(b.sent).toEqual([20])
    expect(c.sent).toEqual([20])
    // The same record again from b: nothing moves.
    await exchange.onMessage(b, encodePointerMessage(await sign(20, V2)))
    expect([a.sent, b.sent, c.sent]).toEqual([[], [20], [20]])
    // The publisher's next version reaches all three.
    await exchange.publish(await sign(21, V3))
    expect([a.sent, b.sent, c.sent]).toEqual([[21], [20, 21], [20, 21]])
    expect(newer).toEqual([[20, 'a'], [21, undefined]])
  })

  it('refuses a replayed older record without blaming the peer, and sends the newer one to a peer that lacks it', async () => {
    const { exchange, refused, warnings, book } = setup()
    await exchange.publish(await sign(30, V2))
    const replayer = new FakePeer('replayer')
    exchange.onExtendedHandshake(replayer)
    await exchange.onMessage(replayer, encodePointerMessage(await sign(29, V1)))
    expect(refused).toEqual([['replayer', 'rollback']])
    expect(warnings).toEqual([])
    expect(replayer.destroyed).toBe(false)
    expect(replayer.sent).toEqual([30]) // sent at its handshake, not twice
    expect(book.current?.seq).toBe(30)
    // A peer that sends before its extended handshake reached us (messages can race it) gets 30 in answer.
    const early = new FakePeer('early')
    await exchange.onMessage(early, encodePointerMessage(await sign(12, V1)))
    expect(early.sent).toEqual([30])
  })

  it('reports a fork once, refuses both records, and does not drop the peers', async () => {
    const { exchange, refused, warnings, book } = setup()
    const [a, b, c] = [new FakePeer('a'), new FakePeer('b'), new FakePeer('c')]
    for (const p of [a, b, c]) exchange.onExtendedHandshake(p)
    await exchange.onMessage(a, encodePointerMessage(await sign(40, V1)))
    await exchange.onMessage(b, encodePointerMessage(await sign(40, V2)))
    await exchange.onMessage(c, encodePointerMessage(await sign(40, V2)))
    expect(refused).toEqual([['b', 'fork']])
    expect(book.current).toBeUndefined()
    expect(warnings).toEqual([])
    expect([a, b, c].some((p) => p.destroyed)).toBe(false)
    // The proof went to every peer: both records (a sent one half, b the other; c too needs both). b and c had
    // been sent a's record as the newest before the fork showed.
    expect([a.sent, b.sent, c.sent]).toEqual([[40, 40], [40, 40, 40], [40, 40, 40]])
    expect(book.evidence?.map((r) => r.infoHash)).toEqual([V1, V2])
    // A peer connecting later gets the proof as well, and refuses the fork in turn.
    const late = new FakePeer('late')
    exchange.onExtendedHandshake(late)
    expect(late.sent).toEqual([40, 40])
    const lateBook = new PointerBook({ verifier: nodeVerifier }, { publicKey: site.publicKey })
    expect((await lateBook.offer(await sign(40, V1))).kind).toBe('newer')
    const second = await lateBook.offer(await sign(40, V2))
    expect(second.kind === 'refused' && second.error.reason).toBe('fork')
    // A higher seq settles it, and everyone hears of it.
    await exchange.onMessage(c, encodePointerMessage(await sign(41, V3)))
    expect(book.current?.infoHash).toBe(V3)
    expect(a.sent.at(-1)).toBe(41)
  })

  it('drops a peer that sends garbage or a forged record, with a warning, and keeps going', async () => {
    const { exchange, warnings, book } = setup()
    const [junk, forger, honest] = [new FakePeer('junk'), new FakePeer('forger'), new FakePeer('honest')]
    for (const p of [junk, forger, honest]) exchange.onExtendedHandshake(p)
    await exchange.onMessage(junk, utf8.encode('d1:ki5ee'))
    const real = await sign(50, V1)
    const forged = { ...real, seq: 51 }
    await exchange.onMessage(forger, encodePointerMessage(forged))
    const stranger = generateEd25519()
    const foreign = await signPointer(nodeSigner(stranger.seed), { seq: 99, infoHash: V2 })
    const other = new FakePeer('other')
    exchange.onExtendedHandshake(other)
    await exchange.onMessage(other, encodePointerMessage(foreign))
    expect(warnings.map(([name]) => name)).toEqual(['junk', 'forger', 'other'])
    expect(warnings[0]![1]).toMatch(/peersite_pointer: k is not a byte string/)
    expect(warnings[1]![1]).toMatch(/bad signature/)
    expect(warnings[2]![1]).toMatch(/another key/)
    expect([junk.destroyed, forger.destroyed, other.destroyed, honest.destroyed]).toEqual([true, true, true, false])
    expect(book.current).toBeUndefined()
    await exchange.onMessage(honest, encodePointerMessage(real))
    expect(book.current?.seq).toBe(50)
  })

  it('ignores a flood: one record in flight per peer and the latest waiting, at most POINTER_MAX_RECORDS_PER_PEER per connection', async () => {
    const { exchange, book, newer } = setup()
    const p = new FakePeer('flood')
    exchange.onExtendedHandshake(p)
    const records = await Promise.all(Array.from({ length: POINTER_MAX_RECORDS_PER_PEER + 5 }, async (_, i) => await sign(100 + i, V1)))
    // All at once: the first is verified, then the last that came while it was in flight (the one between is not).
    await Promise.all(records.slice(0, 3).map(async (r) => await exchange.onMessage(p, encodePointerMessage(r))))
    expect(book.current?.seq).toBe(102)
    expect(newer.map(([seq]) => seq)).toEqual([100, 102])
    // Two counted so far; the rest one at a time until the cap.
    for (const r of records.slice(3)) await exchange.onMessage(p, encodePointerMessage(r))
    expect(book.current?.seq).toBe(100 + 2 + POINTER_MAX_RECORDS_PER_PEER - 2)
    expect(p.destroyed).toBe(false)
  })

  it('a newer record sent while the peer\'s first one was being verified is not lost', async () => {
    // A seeder sends its record on connecting, learns a newer one elsewhere a moment later and sends that too, once.
    const { exchange, book, newer } = setup()
    await exchange.publish(await sign(10, V1))
    const seeder = new FakePeer('seeder')
    exchange.onExtendedHandshake(seeder)
    const [r10, r11] = [encodePointerMessage(await sign(10, V1)), encodePointerMessage(await sign(11, V2))]
    await Promise.all([exchange.onMessage(seeder, r10), exchange.onMessage(seeder, r11)])
    expect(book.current?.seq).toBe(11)
    expect(newer).toEqual([[10, undefined], [11, 'seeder']])
  })

  it('forgets a closed peer', async () => {
    const { exchange } = setup()
    const p = new FakePeer('p')
    exchange.onExtendedHandshake(p)
    exchange.onPeerClose(p)
    await exchange.publish(await sign(1, V1))
    expect(p.sent).toEqual([])
  })

  it('a record whose sender closed while it was being verified still counts: a newer one is passed on, a rollback reported', async () => {
    const { exchange, newer, refused, book } = setup()
    const [a, b, c] = [new FakePeer('a'), new FakePeer('b'), new FakePeer('c')]
    for (const p of [a, b, c]) exchange.onExtendedHandshake(p)
    const verifying = exchange.onMessage(a, encodePointerMessage(await sign(20, V2)))
    exchange.onPeerClose(a) // the connection dies before the signature check ends
    await verifying
    expect(book.current?.seq).toBe(20)
    expect(newer).toEqual([[20, 'a']])
    expect([a.sent, b.sent, c.sent]).toEqual([[], [20], [20]])
    // Whoever later repeats it is `same` to the book: this was the only chance to pass it on.
    await exchange.onMessage(b, encodePointerMessage(await sign(20, V2)))
    expect(newer).toEqual([[20, 'a']])

    const replaying = exchange.onMessage(c, encodePointerMessage(await sign(19, V1)))
    exchange.onPeerClose(c)
    await replaying
    expect(refused).toEqual([['c', 'rollback']])
    expect(c.sent).toEqual([20])
  })
})

describe('PointerHub', () => {
  it('passes what one swarm learns to the peers of the others, and reports each record once', async () => {
    const book = new PointerBook({ verifier: nodeVerifier }, { publicKey: site.publicKey })
    const newer: Array<[number, string | undefined]> = []
    const refused: string[] = []
    const hub = new PointerHub<FakePeer>({
      book,
      warn: () => {},
      onNewer: (record, peer) => newer.push([record.seq, peer?.name]),
      onRefused: (error) => refused.push(error.reason)
    })
    const pointerSwarm = hub.exchange()
    const siteSwarm = hub.exchange()
    const [p, s1, s2] = [new FakePeer('p'), new FakePeer('s1'), new FakePeer('s2')]
    pointerSwarm.onExtendedHandshake(p)
    siteSwarm.onExtendedHandshake(s1)
    siteSwarm.onExtendedHandshake(s2)
    await hub.publish(await sign(1, V1))
    expect([p.sent, s1.sent, s2.sent]).toEqual([[1], [1], [1]])
    // Learnt in the site swarm from s1: to s2 in the same swarm and to p in the pointer swarm.
    await siteSwarm.onMessage(s1, encodePointerMessage(await sign(2, V2)))
    expect([p.sent, s1.sent, s2.sent]).toEqual([[1, 2], [1], [1, 2]])
    // A fork shown in the pointer swarm: its proof reaches the site swarm's peers too.
    await pointerSwarm.onMessage(p, encodePointerMessage(await sign(2, V3)))
    expect(refused).toEqual(['fork'])
    expect(s1.sent.length).toBe(3)
    expect(s2.sent.length).toBe(4)
    expect(newer).toEqual([[1, undefined], [2, 's1']])
    hub.remove(siteSwarm)
    await hub.publish(await sign(3, V3))
    expect(p.sent.at(-1)).toBe(3)
    expect(s2.sent.length).toBe(4)
  })
})
