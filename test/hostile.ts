// One catalogue of hostile values (STYLE §6), run against every decoder, validator and RPC parser, as
// noble-curves' `getTypeTests` (test/utils.ts) is. A decoder given any of these returns a value or throws
// a typed error whose `code` is one of REJECTION_CODES: never a TypeError, RangeError or a library's error.
import { expect } from 'vitest'

export interface HostileCase {
  readonly name: string
  readonly value: unknown
}

/** The codes of RejectedInputError subclasses (src/core/errors.ts, signatures.ts, signedState.ts). */
export const REJECTION_CODES: ReadonlySet<string> = new Set([
  'invalid_hex',
  'invalid_address',
  'invalid_length',
  'out_of_range',
  'invalid_signature',
  'invalid_channel_id',
  'invalid_outcome',
  'invalid_state',
  'codec',
  'broken_log',
  'invalid_private_key',
  'not_a_participant',
])

const coercionTrap = {
  valueOf(): never {
    throw new Error('hostile: valueOf called (a validator coerced its input)')
  },
  toString(): never {
    throw new Error('hostile: toString called (a validator coerced its input)')
  },
}

function sparse(length: number, at: number, value: unknown): unknown[] {
  const array: unknown[] = new Array(length)
  array[at] = value
  return array
}

/** A string of `n` hex digits. */
const digits = (n: number, digit = 'a'): string => digit.repeat(n)

export const hostileNumbers: readonly HostileCase[] = [
  { name: 'NaN', value: Number.NaN },
  { name: 'Infinity', value: Number.POSITIVE_INFINITY },
  { name: '-Infinity', value: Number.NEGATIVE_INFINITY },
  { name: '-1', value: -1 },
  { name: '1.5', value: 1.5 },
  { name: '2^53 (unsafe)', value: 2 ** 53 },
  { name: '2^48', value: 2 ** 48 },
  { name: 'Number.MAX_VALUE', value: Number.MAX_VALUE },
  { name: 'Number.EPSILON', value: Number.EPSILON },
  { name: 'number 256', value: 256 },
]

export const hostileBigints: readonly HostileCase[] = [
  { name: '-1n', value: -1n },
  { name: '2n ** 256n', value: 2n ** 256n },
  { name: '2n ** 1024n', value: 2n ** 1024n },
  { name: '-(2n ** 255n)', value: -(2n ** 255n) },
  { name: '2n ** 64n', value: 2n ** 64n },
  { name: '2n ** 48n', value: 2n ** 48n },
]

export const hostileStrings: readonly HostileCase[] = [
  { name: "''", value: '' },
  { name: "'0x'", value: '0x' },
  { name: "'0X00' (uppercase prefix)", value: '0X00' },
  { name: "'0x0' (odd length)", value: '0x0' },
  { name: "'0xabc' (odd length)", value: '0xabc' },
  { name: "'0xzz' (non-hex)", value: '0xzz' },
  { name: "'00' (no prefix)", value: '00' },
  { name: 'address without prefix', value: digits(40) },
  { name: 'address of 19 bytes', value: `0x${digits(38)}` },
  { name: 'address of 21 bytes', value: `0x${digits(42)}` },
  { name: 'bytes32 of 31 bytes', value: `0x${digits(62, '1')}` },
  { name: 'bytes32 of 33 bytes', value: `0x${digits(66, '1')}` },
  { name: 'address with a non-hex digit', value: `0x${digits(39)}g` },
  // EIP-55: a mixed-case address must carry a valid checksum (this one has the last letter's case flipped).
  { name: 'address with a bad EIP-55 checksum', value: '0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43Bd' },
  { name: 'address in uppercase hex', value: `0x${digits(40, 'A')}` },
  { name: 'leading space', value: ` 0x${digits(40)}` },
  { name: 'trailing newline', value: `0x${digits(40)}\n` },
  { name: 'Arabic-Indic digits', value: '0x٠٠' },
  { name: 'full-width digits', value: '0x００' },
  { name: "'__proto__'", value: '__proto__' },
  { name: "'null'", value: 'null' },
  { name: 'decimal string', value: '5' },
  { name: '1 MB of hex', value: `0x${digits(2 * 1024 * 1024, '0')}` },
  { name: '1 MB of odd hex', value: `0x${digits(2 * 1024 * 1024 + 1, '0')}` },
]

export const hostileObjects: readonly HostileCase[] = [
  { name: 'null', value: null },
  { name: 'undefined', value: undefined },
  { name: 'true', value: true },
  { name: 'false', value: false },
  { name: 'symbol', value: Symbol('hostile') },
  { name: 'function', value: () => 0 },
  { name: '{}', value: {} },
  { name: '[]', value: [] },
  { name: '[[]]', value: [[]] },
  { name: '[null]', value: [null] },
  { name: '[undefined]', value: [undefined] },
  { name: 'huge sparse array (10^7)', value: new Array(10_000_000) },
  { name: 'large dense array (10^5 zeros)', value: new Array(100_000).fill(0) },
  { name: 'sparse array [ , x ]', value: sparse(2, 1, `0x${digits(40)}`) },
  { name: 'sparse array [ x, , ]', value: sparse(2, 0, `0x${digits(40)}`) },
  { name: 'sparse array of length 1', value: new Array(1) },
  { name: 'Object.create(null)', value: Object.create(null) as unknown },
  { name: "JSON '__proto__' key", value: JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as unknown },
  { name: "computed '__proto__' key", value: { ['__proto__']: { polluted: true } } },
  { name: "'constructor' key", value: { constructor: { prototype: { polluted: true } } } },
  { name: 'coercion trap', value: coercionTrap },
  { name: "new String('0x')", value: new String('0x') },
  { name: 'new Number(1)', value: new Number(1) },
  { name: 'Object(1n)', value: Object(1n) as unknown },
  { name: 'Date', value: new Date(0) },
  { name: 'Map', value: new Map([['a', 1]]) },
  { name: 'Set', value: new Set([1]) },
  { name: 'RegExp', value: /0x/ },
  { name: 'Error', value: new Error('hostile') },
  { name: 'Uint8Array(0)', value: new Uint8Array(0) },
  { name: 'Uint8Array(20)', value: new Uint8Array(20) },
  { name: 'Uint8Array(32)', value: new Uint8Array(32).fill(1) },
  { name: 'Buffer(65)', value: Buffer.alloc(65, 1) },
  { name: 'Int8Array(32)', value: new Int8Array(32) },
  { name: 'Float64Array(4)', value: new Float64Array(4) },
  { name: 'ArrayBuffer(32)', value: new ArrayBuffer(32) },
  { name: 'DataView', value: new DataView(new ArrayBuffer(8)) },
  { name: 'frozen {}', value: Object.freeze({}) },
]

/** Every hostile JS value. */
export const hostileValues: readonly HostileCase[] = [...hostileNumbers, ...hostileBigints, ...hostileStrings, ...hostileObjects]

/** Hostile MessagePack messages for the wire decoders (hand-assembled; see the MessagePack spec). */
export const hostileMessages: readonly HostileCase[] = [
  { name: 'empty', value: new Uint8Array(0) },
  { name: '0xc1 (never used)', value: Uint8Array.of(0xc1) },
  { name: 'nil', value: Uint8Array.of(0xc0) },
  { name: 'fixarray claiming 3, holding 1', value: Uint8Array.of(0x93, 0x01) },
  { name: 'array32 claiming 2^32-1 entries', value: Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01) },
  { name: 'map32 claiming 2^32-1 entries', value: Uint8Array.of(0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61, 0x01) },
  { name: 'bin32 claiming 4 GB', value: Uint8Array.of(0xc6, 0xff, 0xff, 0xff, 0xff, 0x00) },
  { name: 'str32 claiming 4 GB', value: Uint8Array.of(0xdb, 0xff, 0xff, 0xff, 0xff, 0x61) },
  { name: 'ext32 claiming 4 GB', value: Uint8Array.of(0xc9, 0xff, 0xff, 0xff, 0xff, 0x42, 0x00) },
  { name: 'truncated uint64', value: Uint8Array.of(0xcf, 0x00, 0x01) },
  { name: 'truncated float64', value: Uint8Array.of(0xcb, 0x3f) },
  { name: 'two values', value: Uint8Array.of(0x01, 0x02) },
  { name: '100k nested arrays', value: new Uint8Array(100_000).fill(0x91) },
  { name: '17 nested arrays', value: Uint8Array.from([...new Array<number>(17).fill(0x91), 0x01]) },
  { name: 'ext 0 (undefined)', value: Uint8Array.of(0xd4, 0x00, 0x00) },
  { name: 'timestamp ext (Date)', value: Uint8Array.of(0xd6, 0xff, 0x00, 0x00, 0x00, 0x01) },
  { name: 'unknown ext 0x10', value: Uint8Array.of(0xd4, 0x10, 0x00) },
  { name: 'typed-array ext (Int8Array)', value: Uint8Array.of(0xc7, 0x04, 0x74, 0x00, 0x01, 0x02, 0x03) },
  { name: 'map with an array key', value: Uint8Array.of(0x81, 0x91, 0x01, 0x02) },
  { name: "map {'__proto__': {polluted: 1}}", value: Uint8Array.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0x81, 0xa8, ...Buffer.from('polluted'), 0x01]) },
  { name: "map {'__proto__': 1}", value: Uint8Array.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0x01]) },
  { name: "map {'constructor': {prototype: 1}}", value: Uint8Array.from([0x81, 0xab, ...Buffer.from('constructor'), 0x81, 0xa9, ...Buffer.from('prototype'), 0x01]) },
  { name: 'record definition', value: Uint8Array.of(0xd4, 0x72, 0x40, 0x91, 0xa1, 0x61, 0x01) },
  { name: 'invalid UTF-8 in str', value: Uint8Array.of(0xa2, 0xff, 0xfe) },
  { name: 'bigint ext with empty payload', value: Uint8Array.of(0xc7, 0x00, 0x42) },
]

export type Settled =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'rejected'; readonly code: string }
  | { readonly kind: 'untyped'; readonly error: string }

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message.split('\n')[0]!.slice(0, 160)}` : `thrown ${typeof error}`
}

/** Runs f: its value, the code of the typed rejection it threw, or a description of any other throw. */
export function settle(f: () => unknown): Settled {
  try {
    return { kind: 'value', value: f() }
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code
    if (typeof code === 'string' && REJECTION_CODES.has(code)) return { kind: 'rejected', code }
    return { kind: 'untyped', error: describeError(error) }
  }
}

/** settle(f), failing the test if f threw anything but a typed rejection. */
export function outcomeOf(f: () => unknown): Exclude<Settled, { kind: 'untyped' }> {
  const settled = settle(f)
  if (settled.kind === 'untyped') return expect.fail(`expected a value or a typed rejection, got ${settled.error}`)
  return settled
}

/** The code of the error f throws; fails the test if f returns or throws something without a `code`. */
export function codeOf(f: () => unknown): string {
  let returned: unknown
  try {
    returned = f()
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code
    if (typeof code === 'string') return code
    return expect.fail(`expected an error with a code, got ${describeError(error)}`)
  }
  return expect.fail(`expected a throw, got a return value of type ${typeof returned}`)
}

/** Replaces the value at `path` inside a (deep-cloned) plain-data value; arrays and objects are copied. */
export function replaceAt(root: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value
  const [head, ...rest] = path as [string | number, ...(string | number)[]]
  if (Array.isArray(root)) {
    const copy = root.slice()
    copy[head as number] = replaceAt(root[head as number], rest, value)
    return copy
  }
  const record = root as Record<string, unknown>
  return { ...record, [head]: replaceAt(record[head], rest, value) }
}

export type Path = readonly (string | number)[]

export const pathText = (path: Path): string => (path.length === 0 ? '(root)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join(''))

/**
 * Puts each hostile value at `path` inside `base` and runs `decode` on the result. Returns one line per
 * failure: `decode` threw something other than a typed rejection, or it accepted the input and then
 * `use` (what a caller does next with the value, e.g. hash it) threw anything at all.
 */
export function walkHostile(
  base: unknown,
  path: Path,
  decode: (input: unknown) => unknown,
  use?: (decoded: unknown) => unknown,
  values: readonly HostileCase[] = hostileValues,
): string[] {
  const failures: string[] = []
  for (const { name, value } of values) {
    const decoded = settle(() => decode(replaceAt(base, path, value)))
    if (decoded.kind === 'untyped') failures.push(`${pathText(path)} <- ${name}: ${decoded.error}`)
    else if (decoded.kind === 'value' && use !== undefined) {
      const used = settle(() => use(decoded.value))
      if (used.kind === 'untyped') failures.push(`${pathText(path)} <- ${name}: accepted, then ${used.error}`)
      if (used.kind === 'rejected') failures.push(`${pathText(path)} <- ${name}: accepted, then rejected with ${used.code}`)
    }
  }
  return failures
}
