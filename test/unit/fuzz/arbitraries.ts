/** fast-check generators shared by the property tests. */
import fc from 'fast-check'
import type { BValue } from '../../../engine/util/bencode.js'

/** Any value bencoding can carry: safe integers, byte strings, lists, dictionaries with string keys. */
export const bvalue: fc.Arbitrary<BValue> = fc.letrec<{ v: BValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.maxSafeInteger(),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 5 })
  )
})).v

