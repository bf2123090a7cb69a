// Mutators for fuzz inputs (docs/fuzzing.md): of bytes (bit flips, overwrites with MessagePack's interesting
// bytes, truncation, extension, insertion, deletion, duplication of a region), and of wire values, the trees
// of tuples a decoder reads after MessagePack (replace a node with a value of another type, a huge or negative
// bigint, a byte string one byte off, drop or add a tuple entry, nest it). Both are fast-check arbitraries of
// edits, so a failing case shrinks to the fewest and smallest edits.
import fc from 'fast-check'
import { hostileValues } from '../hostile.js'
import { concatBytes } from '../apps/harness.js'

// ---- bytes ----

/** Bytes MessagePack gives a meaning to: type markers of every width, nil, the unused 0xc1, extremes. */
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0x90, 0x91, 0x93, 0x96, 0x9f, 0xa0, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc6, 0xc7, 0xc9, 0xcb, 0xcf, 0xd3, 0xd4, 0xd6, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff]

export type ByteEdit =
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'set'; readonly at: number; readonly byte: number }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'extend'; readonly bytes: Uint8Array }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'delete'; readonly at: number; readonly length: number }
  | { readonly op: 'duplicate'; readonly at: number; readonly length: number }

const position = fc.nat({ max: 1 << 20 })
const someBytes = fc.uint8Array({ minLength: 1, maxLength: 16 })

export const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at: position, byte: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.nat({ max: 255 })) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: position }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('extend' as const), bytes: someBytes }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: position, bytes: someBytes }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }) },
)

/** Applies `edits` in order to a copy of `input`; positions wrap around the current length. */
export function applyByteEdits(input: Uint8Array, edits: readonly ByteEdit[]): Uint8Array {
  let bytes: Uint8Array = Uint8Array.from(input)
  for (const edit of edits) {
    const at = bytes.length === 0 ? 0 : 'at' in edit ? edit.at % bytes.length : 0
    switch (edit.op) {
      case 'flip':
        if (bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << edit.bit)
        break
      case 'set':
        if (bytes.length > 0) bytes[at] = edit.byte
        break
      case 'truncate':
        bytes = bytes.slice(0, at)
        break
      case 'extend':
        bytes = concatBytes(bytes, edit.bytes)
        break
      case 'insert':
        bytes = concatBytes(bytes.subarray(0, at), edit.bytes, bytes.subarray(at))
        break
      case 'delete':
        bytes = concatBytes(bytes.subarray(0, at), bytes.subarray(at + edit.length))
        break
      case 'duplicate':
        bytes = concatBytes(bytes.subarray(0, at + edit.length), bytes.subarray(at, at + edit.length), bytes.subarray(at + edit.length))
        break
    }
  }
  return bytes
}

/** `base` bytes with one to four edits. */
export function mutatedBytes(base: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(base, fc.array(byteEdit, { minLength: 1, maxLength: 4 })).map(([bytes, edits]) => applyByteEdits(bytes, edits))
}

// ---- wire values ----

/**
 * Any value MessagePack can carry as the codec decodes it (src/core/codec.ts): nil, booleans, numbers, bigints
 * of any size, strings, byte strings, tuples and maps with string keys.
 */
export const wireValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
    fc.constantFrom(-1n, 0n, 2n ** 48n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 256n - 1n, 2n ** 256n, -(2n ** 63n)),
    fc.string({ maxLength: 24 }),
    fc.uint8Array({ maxLength: 70 }),
    fc.constantFrom(0, 19, 20, 21, 31, 32, 33, 64, 65, 66).map((n) => new Uint8Array(n).fill(0xab)),
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 3, noNullPrototype: true }),
  ),
})).value

export type TreeEdit =
  | { readonly op: 'replace'; readonly walk: readonly number[]; readonly value: unknown }
  | { readonly op: 'remove'; readonly walk: readonly number[] }
  | { readonly op: 'append'; readonly walk: readonly number[]; readonly value: unknown }
  | { readonly op: 'nest'; readonly walk: readonly number[] }
  | { readonly op: 'resize'; readonly walk: readonly number[]; readonly delta: number }
  | { readonly op: 'bump'; readonly walk: readonly number[]; readonly by: bigint }
  | { readonly op: 'punch'; readonly walk: readonly number[]; readonly mask: number }

/** Hostile values that are sparse arrays: holes no MessagePack decoder makes, but a decoder given values must refuse. */
const isSparse = (name: string) => name.startsWith('sparse array')

/**
 * Values a replacement draws from: the hostile catalogue (less its largest values, which the hostile suites run
 * on their own, the coercion trap, which fast-check's reporter would set off, and the sparse arrays, which
 * `sparseArrays` holds apart), and wire values.
 */
const replacement: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...hostileValues.filter((h) => !/huge|large|1 MB|coercion trap/.test(h.name) && !isSparse(h.name)).map((h) => h.value)),
  wireValue,
)

/** Sparse arrays from the hostile catalogue, and arrays of holes only (new Array(n)). */
const sparseArrays: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...hostileValues.filter((h) => isSparse(h.name)).map((h) => h.value)),
  fc.integer({ min: 1, max: 4 }).map((n) => new Array<unknown>(n)),
)

/** A walk for holes: the lists worth punching (signatures, participants, queues) sit two or three levels down. */
const shortWalk = fc.array(fc.nat({ max: 15 }), { minLength: 2, maxLength: 3 })

/** Edits that make holes: a tuple replaced by a sparse array, or punched (entries deleted, its length kept). */
export const holeEdit: fc.Arbitrary<TreeEdit> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ op: fc.constant('replace' as const), walk: shortWalk, value: sparseArrays }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('punch' as const), walk: shortWalk, mask: fc.integer({ min: 1, max: 0xffff }) }) },
)

/** A walk down a tree: at each level, the index (modulo the tuple's length) of the entry to go into. */
const walk = fc.array(fc.nat({ max: 15 }), { maxLength: 6 })

export const treeEdit: fc.Arbitrary<TreeEdit> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('replace' as const), walk, value: replacement }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), walk }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('append' as const), walk, value: wireValue }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('nest' as const), walk }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('resize' as const), walk, delta: fc.constantFrom(-1, 1, -32, 32) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('bump' as const), walk, by: fc.constantFrom(-1n, 1n, 2n ** 48n, 2n ** 64n, 2n ** 256n, -(2n ** 256n)) }) },
)

/**
 * The value with `edit` made at the node its walk reaches: the walk goes down tuples while it has steps and
 * the node is a non-empty tuple. Tuples on the way are copied; the input is not changed.
 */
export function applyTreeEdit(root: unknown, edit: TreeEdit): unknown {
  const go = (node: unknown, steps: readonly number[]): unknown => {
    if (steps.length > 0 && Array.isArray(node) && node.length > 0) {
      const i = steps[0]! % node.length
      const copy = node.slice()
      const child = go(node[i], steps.slice(1))
      if (child === REMOVED) copy.splice(i, 1)
      else copy[i] = child
      return copy
    }
    return editNode(node, edit)
  }
  const result = go(root, edit.walk)
  return result === REMOVED ? [] : result
}

const REMOVED = Symbol('removed')

function editNode(node: unknown, edit: TreeEdit): unknown {
  switch (edit.op) {
    case 'replace':
      return edit.value
    case 'remove':
      return REMOVED
    case 'append':
      return Array.isArray(node) ? [...node, edit.value] : [node, edit.value]
    case 'nest':
      return [node]
    case 'resize':
      if (node instanceof Uint8Array) {
        const length = Math.max(0, node.length + edit.delta)
        const out = new Uint8Array(length)
        out.set(node.subarray(0, length))
        return out
      }
      if (typeof node === 'string') return edit.delta > 0 ? node + 'x'.repeat(edit.delta) : node.slice(0, Math.max(0, node.length + edit.delta))
      if (Array.isArray(node)) return edit.delta > 0 ? [...node, ...node.slice(0, edit.delta)] : node.slice(0, Math.max(0, node.length + edit.delta))
      return node
    case 'bump':
      if (typeof node === 'bigint') return node + edit.by
      if (typeof node === 'number') return node + Number(edit.by)
      return node
    case 'punch': {
      // holes where the mask has a bit set: the same length, some entries not there at all
      if (!Array.isArray(node)) return node
      const copy = node.slice()
      for (let i = 0; i < copy.length && i < 31; i++) if ((edit.mask >>> i) & 1) delete copy[i]
      return copy
    }
  }
}

/** A wire value with one to three edits (default: `treeEdit`'s). */
export function mutatedTree(base: fc.Arbitrary<unknown>, edits: fc.Arbitrary<TreeEdit> = treeEdit): fc.Arbitrary<unknown> {
  return fc.tuple(base, fc.array(edits, { minLength: 1, maxLength: 3 })).map(([value, e]) => e.reduce(applyTreeEdit, value))
}
