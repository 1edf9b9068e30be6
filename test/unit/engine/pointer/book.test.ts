/** Deciding between records: the highest valid seq wins; rollbacks and forks are refused with a reason. */
import { describe, expect, it } from 'vitest'
import { generateEd25519, nodeSigner, nodeVerifier } from '../../../../engine/pointer/node.js'
import { PointerBook, signPointer, webCryptoVerifier, type PointerDecision } from '../../../../engine/pointer/index.js'
import { utf8 } from '../../../../engine/util/bytes.js'

const V1 = '1111111111111111111111111111111111111111'
const V2 = '2222222222222222222222222222222222222222'
const V3 = '3333333333333333333333333333333333333333'

const site = generateEd25519()
const signer = nodeSigner(site.seed)
const sign = async (seq: number, infoHash: string, salt?: Uint8Array) => await signPointer(signer, { seq, infoHash, ...(salt !== undefined ? { salt } : {}) })
const summary = (d: PointerDecision): string => d.kind === 'refused' ? `refused:${d.error.reason}` : `${d.kind}:${d.record.seq}:${d.record.infoHash.slice(0, 1)}`

describe('PointerBook', () => {
  it('takes the highest valid seq, keeps it, and refuses a replayed older record (rollback)', async () => {
    const book = new PointerBook({ verifier: nodeVerifier }, { publicKey: site.publicKey })
    expect(book.current).toBeUndefined()
    expect(summary(await book.offer(await sign(10, V1)))).toBe('newer:10:1')
    expect(summary(await book.offer(await sign(20, V2)))).toBe('newer:20:2')
    const replay = await book.offer(await sign(10, V1))
    expect(summary(replay)).toBe('refused:rollback')
    expect(replay.kind === 'refused' && replay.error.message).toMatch(/seq 10 .*seq 20 is already known/)
    expect(book.current?.infoHash).toBe(V2)
    expect(summary(await book.offer(await sign(20, V2)))).toBe('same:20:2')
    expect(book.known).toMatchObject({ seq: 20, record: { infoHash: V2 } })
  })

  it('refuses both records of a fork (same seq, different torrent) and anything at that seq, until a higher seq', async () => {
    const book = new PointerBook({ verifier: webCryptoVerifier() }, { publicKey: site.publicKey })
    expect(summary(await book.offer(await sign(30, V1)))).toBe('newer:30:1')
    const fork = await book.offer(await sign(30, V2))
    expect(summary(fork)).toBe('refused:fork')
    expect(fork.kind === 'refused' && fork.error.message).toMatch(/two different versions with seq 30/)
    expect(book.current).toBeUndefined()
    // The first record is refused now too, and so is a third at the same seq.
    expect(summary(await book.offer(await sign(30, V1)))).toBe('refused:fork')
    expect(summary(await book.offer(await sign(30, V3)))).toBe('refused:fork')
    expect(summary(await book.offer(await sign(29, V3)))).toBe('refused:rollback')
    expect(book.known).toEqual({ seq: 30, forked: true })
    expect(summary(await book.offer(await sign(31, V3)))).toBe('newer:31:3')
    expect(book.current?.infoHash).toBe(V3)
  })

  it('refuses invalid records without changing what it believes', async () => {
    const book = new PointerBook({ verifier: nodeVerifier }, { publicKey: site.publicKey })
    await book.offer(await sign(5, V1))
    const stranger = generateEd25519()
    const foreign = await signPointer(nodeSigner(stranger.seed), { seq: 50, infoHash: V2 })
    expect(summary(await book.offer(foreign))).toBe('refused:invalid')
    const good = await sign(6, V2)
    const forged = { ...good, seq: 60 }
    expect(summary(await book.offer(forged))).toBe('refused:invalid')
    // A forged record at the current seq is not a fork either: it never passed the signature check.
    const forgedSame = await sign(5, V3)
    expect(summary(await book.offer({ ...forgedSame, signature: (await sign(5, V1)).signature }))).toBe('refused:invalid')
    expect(book.current?.seq).toBe(5)
    expect(book.known?.forked).toBeUndefined()
  })

  it('follows one (key, salt): a record of the same key under another salt is not this site\'s', async () => {
    const salt = utf8.encode('blog')
    const book = new PointerBook({ verifier: nodeVerifier }, { publicKey: site.publicKey, salt })
    expect(summary(await book.offer(await sign(1, V1)))).toBe('refused:invalid')
    expect(summary(await book.offer(await sign(1, V1, salt)))).toBe('newer:1:1')
  })

  it('starts from a remembered state: a restart still refuses a rollback, and a fork stays refused', async () => {
    const first = new PointerBook({ verifier: nodeVerifier }, { publicKey: site.publicKey })
    await first.offer(await sign(40, V2))
    const restarted = new PointerBook({ verifier: nodeVerifier }, { publicKey: site.publicKey, known: first.known! })
    expect(restarted.current?.infoHash).toBe(V2)
    expect(summary(await restarted.offer(await sign(39, V1)))).toBe('refused:rollback')
    expect(summary(await restarted.offer(await sign(40, V1)))).toBe('refused:fork')

    const forked = new PointerBook({ verifier: nodeVerifier }, { publicKey: site.publicKey, known: { seq: 40, forked: true } })
    expect(summary(await forked.offer(await sign(40, V2)))).toBe('refused:fork')

    // Only the number remembered: the first record at that seq is taken, a different one then is a fork.
    const numberOnly = new PointerBook({ verifier: nodeVerifier }, { publicKey: site.publicKey, known: { seq: 40 } })
    expect(summary(await numberOnly.offer(await sign(40, V2)))).toBe('newer:40:2')
    expect(summary(await numberOnly.offer(await sign(40, V1)))).toBe('refused:fork')
  })

  it('judges concurrent offers one after the other', async () => {
    const book = new PointerBook({ verifier: webCryptoVerifier() }, { publicKey: site.publicKey })
    const records = await Promise.all([sign(3, V3), sign(1, V1), sign(2, V2)])
    await Promise.all(records.map(async (r) => await book.offer(r)))
    expect(book.current?.seq).toBe(3)
  })
})
