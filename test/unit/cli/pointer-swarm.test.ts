/** Site addresses as `get` reads them, its one-line refusal of a malformed one, and when it has heard enough (no
 * network: nothing is joined). */
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { UsageError, type PointerError } from '../../../engine/errors.js'
import { generateEd25519, nodeSigner, nodeVerifier } from '../../../engine/pointer/node.js'
import { PointerBook, signPointer } from '../../../engine/pointer/index.js'
import { toHex } from '../../../engine/util/bytes.js'
import { parseSiteAddress, pointerSettle } from '../../../cli/lib/pointer-swarm.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'
import { cliPath, removeBundle, runCli } from './helpers.js'

const KEY = '8543d3e6115f0f98c944077a4493dcd543e49c739fd998550a1f614ab36ed63e'

describe('parseSiteAddress', () => {
  it('reads a btpk magnet (with salt and trackers) and a bare public key; leaves everything else to the infohash parser', () => {
    const a = parseSiteAddress(`magnet:?xs=urn:btpk:${KEY}&s=6e&tr=ws%3A%2F%2F127.0.0.1%3A8000&tr=wss%3A%2F%2Ft.example`)!
    expect(toHex(a.publicKey)).toBe(KEY)
    expect(toHex(a.salt)).toBe('6e')
    expect(a.trackers).toEqual(['ws://127.0.0.1:8000', 'wss://t.example'])
    const b = parseSiteAddress(` ${KEY.toUpperCase()} `)!
    expect(toHex(b.publicKey)).toBe(KEY)
    expect(b.trackers).toEqual([])
    expect(parseSiteAddress(`magnet:?xt=urn:btih:${'ab'.repeat(20)}`)).toBeUndefined()
    expect(parseSiteAddress('ab'.repeat(20))).toBeUndefined()
    expect(parseSiteAddress('./site.torrent')).toBeUndefined()
  })

  it('refuses a malformed btpk magnet with a UsageError', () => {
    expect(() => parseSiteAddress('magnet:?xs=urn:btpk:1234')).toThrow(UsageError)
    expect(() => parseSiteAddress(`magnet:?xs=urn:btpk:${KEY}&s=zz`)).toThrow(/salt/)
  })
})

describe('pointerSettle', () => {
  afterEach(() => { vi.useRealTimers() })
  const site = generateEd25519()
  const sign = async (seq: number): Promise<Awaited<ReturnType<typeof signPointer>>> =>
    await signPointer(nodeSigner(site.seed), { infoHash: toHex(new Uint8Array(20).fill(seq)), seq })
  const rollback = async (book: PointerBook, seq: number): Promise<PointerError> => {
    const decision = await book.offer(await sign(seq))
    if (decision.kind !== 'refused') throw new Error(`expected a refusal, got ${decision.kind}`)
    expect(decision.error.reason).toBe('rollback')
    return decision.error
  }

  it('settles on the remembered record when every peer only has an older one (refused as a rollback)', async () => {
    const r10 = await book10()
    let settled = false
    const settle = pointerSettle(r10, { settleMs: 100 }, () => { settled = true })
    const error = await rollback(r10, 7)
    vi.useFakeTimers()
    settle.onRefused(error)
    vi.advanceTimersByTime(100)
    expect(settled).toBe(true)
    expect(settle.fork).toBeUndefined()
    expect(r10.current?.seq).toBe(10)
  })

  it('a rollback does not put off the wait started by a peer that agreed', async () => {
    const r10 = await book10()
    let settled = false
    const settle = pointerSettle(r10, { settleMs: 100 }, () => { settled = true })
    const error = await rollback(r10, 7)
    vi.useFakeTimers()
    settle.onHeard()
    vi.advanceTimersByTime(60)
    settle.onRefused(error)
    vi.advanceTimersByTime(40)
    expect(settled).toBe(true)
  })

  async function book10 (): Promise<PointerBook> {
    const r10 = await new PointerBook({ verifier: nodeVerifier }, { publicKey: site.publicKey }).offer(await sign(10))
    if (r10.kind !== 'newer') throw new Error('seq 10 not taken')
    return new PointerBook({ verifier: nodeVerifier }, { publicKey: site.publicKey, known: { seq: 10, record: r10.record } })
  }
})

describe('peersite get <site address>', () => {
  let tmp: TempDir
  beforeAll(async () => {
    tmp = await makeTempDir('peersite-addr-')
    await cliPath()
  }, 60_000)
  afterAll(async () => {
    await tmp.cleanup()
    await removeBundle()
  })

  it('a malformed address is one error line, exit 2 (a wrong command line), nothing written', async () => {
    const result = await runCli(['get', 'magnet:?xs=urn:btpk:abcd', '--out', join(tmp.path, 'out')])
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/^peersite: error: magnet link's btpk is not a 64-hex public key: abcd/)
    expect(result.code).toBe(2)
  })
})
