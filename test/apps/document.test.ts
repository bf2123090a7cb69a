// The collaborative document (apps/document/document.ts), played through the built module with 2 and 4
// authors: attributed inserts and deletes, the pot split by surviving contribution, `finish`, the size limits
// with their rejection codes, and random edit sequences against a reference written here from the app's rules.
import fc from 'fast-check'
import { beforeAll, describe, expect, test } from 'vitest'
import { bytes, codeOf, concatBytes, loadApp, play, start, trapOf, u16le, webAssembly } from './harness.js'
import type { HarnessApp, Move } from './harness.js'

// Rejection codes, from the app's header comment.
const BAD_PARAMS = 1
const BAD_STATE = 2
const BAD_EVENT = 3
const BAD_AUTHOR = 4
const FINISHED = 6
const EDIT_OUT_OF_RANGE = 32
const EDIT_SIZE = 33
const DOCUMENT_FULL = 34

const MAX_TEXT_BYTES = 4096
const MAX_INSERT_BYTES = 256

const encoder = new TextEncoder()
const insertEvent = (position: number, text: Uint8Array): Uint8Array =>
  concatBytes(bytes(0x01), u16le(position), u16le(text.length), text)
const insert = (author: number, position: number, text: string): Move =>
  ({ author, event: insertEvent(position, encoder.encode(text)) })
const deleteEvent = (position: number, count: number): Uint8Array => concatBytes(bytes(0x02), u16le(position), u16le(count))
const remove = (author: number, position: number, count: number): Move => ({ author, event: deleteEvent(position, count) })
const finish = (author: number): Move => ({ author, event: bytes(0x03) })

let app: HarnessApp
beforeAll(async () => {
  app = await loadApp('document')
})

/** The documented layout: participants, finished, u16 length, text, authors. */
function decode(state: Uint8Array): { participants: number; finished: number; text: string; authors: number[] } {
  const length = state[2]! | (state[3]! << 8)
  expect(state.length).toBe(4 + 2 * length)
  return {
    participants: state[0]!,
    finished: state[1]!,
    text: new TextDecoder().decode(state.subarray(4, 4 + length)),
    authors: [...state.subarray(4 + length)],
  }
}

describe('document sessions', () => {
  test('two authors write a line; the pot follows the bytes each wrote that survive', () => {
    const alice = 0
    const bob = 1
    let state = start(app, bytes(2))
    expect(app.outcome(state)).toEqual([0n, 0n]) // empty text: deposits back
    expect(app.whoseTurn(state)).toBe('anyone')
    state = play(app, state, [insert(alice, 0, 'Hello'), insert(bob, 5, ' world'), insert(alice, 5, ',')])
    expect(decode(state)).toEqual({
      participants: 2, finished: 0, text: 'Hello, world', authors: [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
    })
    expect(app.outcome(state)).toEqual([6n, 6n])
    state = play(app, state, [remove(alice, 7, 5), insert(alice, 7, 'there')]) // alice rewrites bob's word
    expect(decode(state)).toMatchObject({ text: 'Hello, there', authors: [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0] })
    expect(app.outcome(state)).toEqual([11n, 1n])
    expect(app.isFinal(state)).toBe(false)
    state = play(app, state, [finish(bob)])
    expect(app.isFinal(state)).toBe(true)
    expect(app.whoseTurn(state)).toBe('nobody')
    expect(app.outcome(state)).toEqual([11n, 1n])
    expect(codeOf(app.apply(state, insert(alice, 0, '!').event, alice))).toBe(FINISHED)
  })

  test('four authors, one of whom writes nothing, split by contribution', () => {
    let state = start(app, bytes(4))
    state = play(app, state, [
      insert(2, 0, 'cc'),
      insert(0, 0, 'aaaa'),
      insert(3, 6, 'ddd'),
      insert(0, 6, 'xx'),
      remove(3, 4, 1), // one of participant 2's bytes
    ])
    expect(decode(state)).toMatchObject({ text: 'aaaacxxddd', authors: [0, 0, 0, 0, 2, 0, 0, 3, 3, 3] })
    state = play(app, state, [finish(1)])
    expect(app.outcome(state)).toEqual([6n, 0n, 1n, 3n])
  })

  test('typing and then deleting earns nothing', () => {
    const state = play(app, start(app, bytes(2)), [insert(1, 0, 'spam'.repeat(50)), remove(1, 0, 200), insert(0, 0, 'a')])
    expect(app.outcome(state)).toEqual([1n, 0n])
  })

  test('the text fills up to its limit and no further', () => {
    const block = 'x'.repeat(MAX_INSERT_BYTES)
    let state = start(app, bytes(2))
    for (let i = 0; i < MAX_TEXT_BYTES / MAX_INSERT_BYTES; i++) state = play(app, state, [insert(i % 2, 0, block)])
    expect(decode(state).text.length).toBe(MAX_TEXT_BYTES)
    expect(app.outcome(state)).toEqual([2048n, 2048n])
    expect(codeOf(app.apply(state, insert(0, 0, 'y').event, 0))).toBe(DOCUMENT_FULL)
    state = play(app, state, [remove(1, 4000, 96)])
    expect(codeOf(app.apply(state, insert(0, 4000, 'y'.repeat(96)).event, 0))).toBe('accepted')
  })
})

describe('document refuses', () => {
  const hello = (): Uint8Array => play(app, start(app, bytes(2)), [insert(0, 0, 'hello')])

  test.each([
    ['an insert past the end', insert(0, 6, 'x'), EDIT_OUT_OF_RANGE],
    ['a delete past the end', remove(0, 3, 3), EDIT_OUT_OF_RANGE],
    ['a delete starting past the end', remove(0, 6, 1), EDIT_OUT_OF_RANGE],
    ['an empty insert', insert(0, 0, ''), EDIT_SIZE],
    ['an insert over the size limit', insert(0, 0, 'x'.repeat(MAX_INSERT_BYTES + 1)), EDIT_SIZE],
    ['an empty delete', remove(0, 0, 0), EDIT_SIZE],
    ['an insert shorter than its count', { author: 0, event: insertEvent(0, encoder.encode('abc')).subarray(0, 7) }, BAD_EVENT],
    ['an insert longer than its count', { author: 0, event: concatBytes(insertEvent(0, encoder.encode('abc')), bytes(0)) }, BAD_EVENT],
    ['a delete without its count', { author: 0, event: deleteEvent(0, 1).subarray(0, 3) }, BAD_EVENT],
    ['a finish with a payload', { author: 0, event: bytes(0x03, 0) }, BAD_EVENT],
    ['an unknown kind', { author: 0, event: bytes(0x04) }, BAD_EVENT],
    ['an empty event', { author: 0, event: bytes() }, BAD_EVENT],
    ['an author who is not a participant', insert(2, 0, 'x'), BAD_AUTHOR],
  ] as const)('%s', (_name, { author, event }, code) => {
    expect(codeOf(app.apply(hello(), event, author))).toBe(code)
  })

  test('malformed states', () => {
    const state = hello()
    expect(codeOf(app.apply(state.subarray(0, state.length - 1), bytes(0x03), 0))).toBe(BAD_STATE)
    const badAuthor = Uint8Array.from(state)
    badAuthor[badAuthor.length - 1] = 2 // a byte attributed to a third participant
    expect(codeOf(app.apply(badAuthor, bytes(0x03), 0))).toBe(BAD_STATE)
    expect(trapOf(() => app.outcome(badAuthor))).toBeInstanceOf(webAssembly.RuntimeError)
    // isFinal and whoseTurn read only the header (they run on every event): a bad author byte is for apply and
    // outcome to refuse, a state whose size disagrees with its header traps
    expect(app.isFinal(badAuthor)).toBe(false)
    expect(trapOf(() => app.whoseTurn(state.subarray(0, state.length - 1)))).toBeInstanceOf(webAssembly.RuntimeError)
    expect(trapOf(() => app.isFinal(state.subarray(0, 3)))).toBeInstanceOf(webAssembly.RuntimeError)
  })

  test.each([['one participant', bytes(1)], ['no params', bytes()], ['extra params', bytes(2, 0)]])('params with %s', (_name, params) => {
    expect(codeOf(app.init(params))).toBe(BAD_PARAMS)
  })

  test('255 participants', () => {
    const state = play(app, start(app, bytes(255)), [insert(254, 0, 'z')])
    const weights = app.outcome(state)
    expect(weights.length).toBe(255)
    expect(weights[254]).toBe(1n)
  })
})

// ---- a reference model, from the documented rules only ----

interface Model {
  text: number[]
  authors: number[]
}

type Edit = { kind: 'insert'; author: number; position: number; text: number[] } | { kind: 'delete'; author: number; position: number; count: number }

function modelEdit(m: Model, edit: Edit): Model | number {
  if (edit.author >= 3) return BAD_AUTHOR
  if (edit.kind === 'insert') {
    if (edit.text.length === 0 || edit.text.length > MAX_INSERT_BYTES) return EDIT_SIZE
    if (edit.position > m.text.length) return EDIT_OUT_OF_RANGE
    if (m.text.length + edit.text.length > MAX_TEXT_BYTES) return DOCUMENT_FULL
    return {
      text: [...m.text.slice(0, edit.position), ...edit.text, ...m.text.slice(edit.position)],
      authors: [...m.authors.slice(0, edit.position), ...edit.text.map(() => edit.author), ...m.authors.slice(edit.position)],
    }
  }
  if (edit.count === 0) return EDIT_SIZE
  if (edit.position + edit.count > m.text.length) return EDIT_OUT_OF_RANGE
  const keep = (_: number, i: number): boolean => i < edit.position || i >= edit.position + edit.count
  return { text: m.text.filter(keep), authors: m.authors.filter(keep) }
}

test('random edit sessions of three authors agree with the reference model, edit by edit', () => {
  const position = fc.integer({ min: 0, max: 40 })
  const author = fc.integer({ min: 0, max: 3 })
  const edit: fc.Arbitrary<Edit> = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), author, position, text: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 12 }) }),
    fc.record({ kind: fc.constant('delete' as const), author, position, count: fc.integer({ min: 0, max: 10 }) }),
  )
  fc.assert(fc.property(fc.array(edit, { maxLength: 40 }), (edits) => {
    let model: Model = { text: [], authors: [] }
    let state = start(app, bytes(3))
    for (const e of edits) {
      const event = e.kind === 'insert' ? insertEvent(e.position, Uint8Array.from(e.text)) : deleteEvent(e.position, e.count)
      const expected = modelEdit(model, e)
      const result = app.apply(state, event, e.author)
      if (typeof expected === 'number') {
        expect(codeOf(result)).toBe(expected)
        continue
      }
      expect(result.ok).toBe(true)
      if (!result.ok) return
      model = expected
      state = result.state
      expect([...state.subarray(4)]).toEqual([...model.text, ...model.authors])
      expect(app.outcome(state)).toEqual([0, 1, 2].map((i) => BigInt(model.authors.filter((a) => a === i).length)))
    }
  }))
})
