/**
 * Which version of a keyed site to believe. One PointerBook follows one (public key, salt); every record offered to
 * it, from any carrier, is verified and then judged against what it already knows:
 *
 * - a higher seq than any seen wins (BEP 44: seq "must be monotonically increasing for each update");
 * - a lower seq is a rollback and refused (BEP 44: a node "MUST not downgrade ... from a higher sequence number to a
 *   lower one"): a peer replaying an old record must not take visitors back to an old version;
 * - the same seq with the same `v` is the record already known;
 * - the same seq with a different `v` is a fork: the key signed two versions under one number, so neither can be
 *   preferred; both are refused, and so is anything else at that seq, until a higher seq arrives.
 *
 * What the book knows can start from a remembered state (the highest seq per key, kept in IndexedDB or a state
 * file by the caller), so a replay is refused even after a restart. Pure logic apart from the injected verifier.
 */
import { PointerError } from '../errors.js'
import { equalBytes, toHex } from '../util/bytes.js'
import type { Ed25519Verifier, PointerRecord, VerifiedPointer } from './index.js'
import { verifyPointer } from './record.js'

/** What is remembered of a key between runs. */
export interface PointerKnown {
  /** The highest seq verified for this key. */
  readonly seq: number
  /** Two different records carried this seq. */
  readonly forked?: boolean
  /** The record at `seq`, when known and not forked. */
  readonly record?: VerifiedPointer
}

export interface PointerBookInit {
  readonly publicKey: Uint8Array
  /** Default: no salt. */
  readonly salt?: Uint8Array
  /** What an earlier run learnt (from the caller's store). */
  readonly known?: PointerKnown
}

export type PointerDecision =
  /** Verified and higher than anything before: it is now `current`. */
  | { readonly kind: 'newer', readonly record: VerifiedPointer }
  /** The record already current (or one with the same seq and value). */
  | { readonly kind: 'same', readonly record: VerifiedPointer }
  /** Refused: `error.reason` is 'invalid', 'rollback' or 'fork', and its message says why in one line. */
  | { readonly kind: 'refused', readonly error: PointerError }

export class PointerBook {
  readonly publicKey: Uint8Array
  readonly salt: Uint8Array
  readonly #verifier: Ed25519Verifier
  #seq: number
  #forked: boolean
  #record: VerifiedPointer | undefined
  #evidence: readonly VerifiedPointer[] | undefined

  constructor (components: { verifier: Ed25519Verifier }, init: PointerBookInit) {
    this.#verifier = components.verifier
    this.publicKey = init.publicKey
    this.salt = init.salt ?? new Uint8Array(0)
    this.#seq = init.known?.seq ?? -1
    this.#forked = init.known?.forked === true
    this.#record = this.#forked ? undefined : init.known?.record
  }

  /** The newest record believed, if any (undefined while the highest seq is forked). */
  get current (): VerifiedPointer | undefined {
    return this.#record
  }

  /**
   * While the highest seq is forked: two valid records that differ at that seq (when this book saw both), the proof
   * that lets other peers refuse the fork too instead of believing whichever half reaches them first.
   */
  get evidence (): readonly VerifiedPointer[] | undefined {
    return this.#forked ? this.#evidence : undefined
  }

  /** What to remember: the highest seq seen, whether it is forked, and the record. */
  get known (): PointerKnown | undefined {
    if (this.#seq < 0) return undefined
    return { seq: this.#seq, ...(this.#forked ? { forked: true } : {}), ...(this.#record !== undefined ? { record: this.#record } : {}) }
  }

  /** Verifies `record` and decides. Never throws for a peer's bad record: it comes back as 'refused'. */
  async offer (record: PointerRecord): Promise<PointerDecision> {
    let verified: VerifiedPointer
    try {
      verified = await verifyPointer(this.#verifier, record, { publicKey: this.publicKey, salt: this.salt })
    } catch (err) {
      if (err instanceof PointerError) return { kind: 'refused', error: err }
      throw err
    }
    // Decided after the await, on the state as it is now: two offers in flight are judged one after the other.
    return this.#decide(verified)
  }

  #decide (record: VerifiedPointer): PointerDecision {
    const key = toHex(this.publicKey).slice(0, 16)
    if (record.seq > this.#seq) {
      this.#seq = record.seq
      this.#forked = false
      this.#evidence = undefined
      this.#record = record
      return { kind: 'newer', record }
    }
    if (record.seq < this.#seq) {
      return { kind: 'refused', error: new PointerError('rollback', `refused pointer seq ${record.seq} for key ${key}…: seq ${this.#seq} is already known (a replayed older version)`) }
    }
    if (!this.#forked && this.#record !== undefined && equalBytes(this.#record.value, record.value)) return { kind: 'same', record: this.#record }
    if (!this.#forked && this.#record === undefined) {
      // The seq was remembered without its record (a state file keeps only numbers): take it as the one known.
      this.#record = record
      return { kind: 'newer', record }
    }
    if (!this.#forked && this.#record !== undefined) this.#evidence = [this.#record, record]
    this.#forked = true
    this.#record = undefined
    return {
      kind: 'refused',
      error: new PointerError('fork', `key ${key}… signed two different versions with seq ${record.seq}: both refused until a higher seq is published`)
    }
  }
}
