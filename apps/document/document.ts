// A collaborative text document: any participant may insert or delete at any position; every byte remembers
// who inserted it, and the pot is split by contribution = the bytes of each participant that survive in the
// text (so deleting what someone wrote also removes their credit, and typing then deleting earns nothing).
// The text is bytes: clients that want UTF-8 keep their edits on character boundaries, the app does not
// interpret them. Any participant's `finish` makes the document final.
//
// Params: u8 participants (2..255) (nothing else).
// State (4 + 2 × length bytes): u8 participants · u8 finished (0 or 1) · u16 length ·
//   u8 text[length] · u8 authors[length] (the participant who inserted each byte).
// Events (first byte is the kind; integers little-endian):
//   0x01 insert: u16 position (0..length), u16 count (1..MAX_INSERT_BYTES), count bytes
//   0x02 delete: u16 position, u16 count (≥ 1, position + count ≤ length)
//   0x03 finish: nothing
// Outcome: weight i = bytes of participant i in the text, at any point (a close by agreement before `finish`
//   pays the same way); an empty text weighs 0 for all (deposits back).
// whoseTurn: -1 (anyone) until finished, then -2.
// Rejection codes: 1 BAD_PARAMS, 2 BAD_STATE, 3 BAD_EVENT, 4 BAD_AUTHOR, 6 FINISHED,
//   32 EDIT_OUT_OF_RANGE, 33 EDIT_SIZE, 34 DOCUMENT_FULL.
import {
  ANYONE, BAD_AUTHOR, BAD_EVENT, BAD_PARAMS, BAD_STATE, FINISHED, NOBODY, Reader, Writer,
  accept, newState, newWeights, participantsOf, reject,
} from '../sdk/index'

export { alloc, reset } from '../sdk/index'

/** An insert past the end, or a delete that reaches past it. */
const EDIT_OUT_OF_RANGE: u32 = 32
/** A delete of nothing, or an insert of nothing or of more than MAX_INSERT_BYTES. */
const EDIT_SIZE: u32 = 33
/** The text would exceed MAX_TEXT_BYTES. */
const DOCUMENT_FULL: u32 = 34

/** Bounds the state (2 × 4096 + 4 bytes) and so every call's work. */
const MAX_TEXT_BYTES: u32 = 4096
const MAX_INSERT_BYTES: u32 = 256
const MAX_PARTICIPANTS: u32 = 255

const EVENT_INSERT: u32 = 0x01
const EVENT_DELETE: u32 = 0x02
const EVENT_FINISH: u32 = 0x03

const HEADER: usize = 4

function lengthOf(state: usize): u32 {
  return <u32>load<u16>(state, 2)
}

/** The header and the size agree: all that isFinal and whoseTurn read (they run on every event, so cheaply). */
function isFramed(state: usize, stateLen: u32): bool {
  if (stateLen < <u32>HEADER) return false
  const length = lengthOf(state)
  return load<u8>(state) >= 2 && load<u8>(state, 1) <= 1 && length <= MAX_TEXT_BYTES && stateLen == <u32>HEADER + 2 * length
}

/** Framed, and every byte's author is a participant. */
function isWellFormed(state: usize, stateLen: u32): bool {
  if (!isFramed(state, stateLen)) return false
  const n = <u32>load<u8>(state)
  const length = lengthOf(state)
  const authors = state + HEADER + <usize>length
  for (let i: usize = 0; i < <usize>length; i++) if (<u32>load<u8>(authors + i) >= n) return false
  return true
}

export function init(params: usize, paramsLen: u32): usize {
  const n = participantsOf(params, paramsLen, 2, MAX_PARTICIPANTS)
  if (n == 0 || paramsLen != 1) return reject(BAD_PARAMS)
  const state = newState(<u32>HEADER)
  store<u8>(state, <u8>n)
  store<u8>(state, 0, 1)
  store<u16>(state, 0, 2)
  return accept(state)
}

export function apply(state: usize, stateLen: u32, event: usize, eventLen: u32, author: u32): usize {
  if (!isWellFormed(state, stateLen)) return reject(BAD_STATE)
  if (author >= <u32>load<u8>(state)) return reject(BAD_AUTHOR)
  if (load<u8>(state, 1) != 0) return reject(FINISHED)
  const r = new Reader(event, eventLen)
  const kind = r.u8()
  if (kind == EVENT_FINISH) {
    if (!r.done()) return reject(BAD_EVENT)
    const next = newState(stateLen)
    memory.copy(next, state, stateLen)
    store<u8>(next, 1, 1)
    return accept(next)
  }
  const position = r.u16()
  const count = r.u16()
  if (kind == EVENT_INSERT) {
    const inserted = r.bytes(count)
    if (!r.done()) return reject(BAD_EVENT)
    return insert(state, position, inserted, count, author)
  }
  if (kind == EVENT_DELETE) {
    if (!r.done()) return reject(BAD_EVENT)
    return remove(state, position, count)
  }
  return reject(BAD_EVENT)
}

function insert(state: usize, position: u32, inserted: usize, count: u32, author: u32): usize {
  const length = lengthOf(state)
  if (count == 0 || count > MAX_INSERT_BYTES) return reject(EDIT_SIZE)
  if (position > length) return reject(EDIT_OUT_OF_RANGE)
  if (length + count > MAX_TEXT_BYTES) return reject(DOCUMENT_FULL)
  const text = state + HEADER
  const authors = text + <usize>length
  const next = newState(<u32>HEADER + 2 * (length + count))
  const w = new Writer(next)
  w.u8(load<u8>(state))
  w.u8(0)
  w.u16(length + count)
  w.bytes(text, position)
  w.bytes(inserted, count)
  w.bytes(text + <usize>position, length - position)
  w.bytes(authors, position)
  w.fill(<u8>author, count)
  w.bytes(authors + <usize>position, length - position)
  return accept(next)
}

function remove(state: usize, position: u32, count: u32): usize {
  const length = lengthOf(state)
  if (count == 0) return reject(EDIT_SIZE)
  if (position + count > length) return reject(EDIT_OUT_OF_RANGE)
  const text = state + HEADER
  const authors = text + <usize>length
  const after = position + count
  const next = newState(<u32>HEADER + 2 * (length - count))
  const w = new Writer(next)
  w.u8(load<u8>(state))
  w.u8(0)
  w.u16(length - count)
  w.bytes(text, position)
  w.bytes(text + <usize>after, length - after)
  w.bytes(authors, position)
  w.bytes(authors + <usize>after, length - after)
  return accept(next)
}

export function outcome(state: usize, stateLen: u32): usize {
  if (!isFramed(state, stateLen)) unreachable()
  const n = <u32>load<u8>(state)
  const length = <usize>lengthOf(state)
  const authors = state + HEADER + length
  const out = newWeights(n)
  // Counts in the result itself: weight i lives at out + 4 + 8i. Checks each author as it counts (one pass
  // instead of isWellFormed's and this one).
  for (let i: usize = 0; i < length; i++) {
    const author = <u32>load<u8>(authors + i)
    if (author >= n) unreachable()
    const at = out + 4 + 8 * <usize>author
    store<u64>(at, load<u64>(at) + 1)
  }
  return out
}

export function isFinal(state: usize, stateLen: u32): i32 {
  if (!isFramed(state, stateLen)) unreachable()
  return <i32>load<u8>(state, 1)
}

export function whoseTurn(state: usize, stateLen: u32): i32 {
  if (!isFramed(state, stateLen)) unreachable()
  return load<u8>(state, 1) != 0 ? NOBODY : ANYONE
}
