// Protocol payloads exchanged between nodes (DESIGN §5), and their wire forms (ADR 0003: tuples with
// binary fields and bigints). The engine wraps payloads in reliable frames; `payloadFromWire` is an
// edge that validates everything a peer sent.
import type { Bytes32, Destination, Signature } from '../core/types.js'
import type { SignedState } from '../core/signedState.js'
import type { Proposal, SignedProposal } from './ledger/proposal.js'
import type { Voucher } from '../core/voucher.js'
import { voucherFromWire, voucherToWire } from '../core/wire.js'
import { signedStateFromWire, signedStateToWire } from '../core/wire.js'
import { bytesToHex, hexToBytes } from '../core/hex.js'
import { checkChannelId } from '../core/channelId.js'
import { parseSignature } from '../core/signatures.js'
import { checkUint } from '../core/validate.js'
import { CodecError, InvalidLengthError, RejectedInputError } from '../core/errors.js'
import { MAX_UINT256, MAX_UINT48, MAX_UINT64 } from '../core/limits.js'
import { MAX_QUEUED_PROPOSALS } from './ledger/limits.js'
import type { ChannelEvent } from '../log/event.js'
import { MAX_EVENT_KIND_BYTES } from '../log/limits.js'
import type { AppDefinition } from './app/appData.js'
import { decodeGenesis, encodeGenesis } from './app/appData.js'
import type { AppCountersignature, AppUpdate } from './app/appChannel.js'
import { MAX_APP_EVENT_BYTES, MAX_APP_PARAMS_BYTES, MAX_APP_PARTICIPANTS } from './app/limits.js'
import { toAddress, toBytes32 } from '../core/canonical.js'

/** Asks the counterparty to start the matching objective (it is approved by its policy first). */
export interface LedgerUpdateRequest {
  readonly ledgerId: Bytes32
  readonly proposal: Proposal
}

export type Payload =
  | { readonly kind: 'signedState'; readonly objectiveId: string; readonly signedState: SignedState }
  | { readonly kind: 'ledgerUpdateRequest'; readonly objectiveId: string; readonly request: LedgerUpdateRequest }
  | { readonly kind: 'proposal'; readonly ledgerId: Bytes32; readonly signed: SignedProposal }
  | { readonly kind: 'countersignature'; readonly ledgerId: Bytes32; readonly turnNum: bigint; readonly signature: Signature }
  | { readonly kind: 'syncRequest'; readonly ledgerId: Bytes32 }
  | { readonly kind: 'sync'; readonly ledgerId: Bytes32; readonly supported: SignedState; readonly queue: readonly SignedProposal[] }
  | { readonly kind: 'objectiveRejected'; readonly objectiveId: string; readonly code: string; readonly summary: string }
  /** To Alice: send me the final state of payment channel V (someone else started its defund). */
  | { readonly kind: 'finalStateRequest'; readonly channelId: Bytes32 }
  | { readonly kind: 'voucher'; readonly voucher: Voucher }
  /**
   * App channels (src/protocols/app/appChannel.md): the channel's definition with the sender's signature on
   * turn 0 (every participant sends it to every other when it opens or joins the channel), a proposed
   * update (to every other participant), and a countersignature of a turn (to every other participant).
   */
  | { readonly kind: 'appOpen'; readonly definition: AppDefinition; readonly stateHash: Bytes32; readonly signature: Signature }
  | { readonly kind: 'appUpdate'; readonly channelId: Bytes32; readonly update: AppUpdate }
  | { readonly kind: 'appCountersignature'; readonly channelId: Bytes32; readonly countersignature: AppCountersignature }
  /**
   * To the author of an app opening or update I refused: which proposal (its turn and event hash) and my
   * error code. A notice (src/engine/frames.ts): sent once, unsequenced, never retransmitted (ADR 0014).
   */
  | { readonly kind: 'appRefusal'; readonly channelId: Bytes32; readonly turnNum: bigint; readonly eventHash: Bytes32; readonly code: string }

const MAX_ID_LENGTH = 200
/** An encoded app definition: the params plus ten head words, two arrays of ≤ MAX_APP_PARTICIPANTS words and lengths. */
const MAX_GENESIS_BYTES = MAX_APP_PARAMS_BYTES + 32 * (10 + 2 * (MAX_APP_PARTICIPANTS + 1) + 2)
const MAX_TEXT_LENGTH = 1000
/** An error code as the node's typed errors spell them (core/errors.ts): nothing a log could be fooled by. */
const ERROR_CODE = /^[a-z][a-z0-9_]{0,63}$/

const bin = (hex: string, field: string) => hexToBytes(hex, field)

function bytes(value: unknown, field: string, length?: number): `0x${string}` {
  if (!(value instanceof Uint8Array)) throw new CodecError(`${field} must be bytes`, { field })
  if (length !== undefined && value.length !== length) throw new InvalidLengthError(`${field} must be ${length} bytes`, { field })
  return bytesToHex(value)
}

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new CodecError(`${field} must be a string of 1..${max} characters`, { field })
  return value
}

function tuple(value: unknown, field: string, length: number): unknown[] {
  if (!Array.isArray(value) || value.length !== length) throw new CodecError(`${field} must be a ${length}-tuple`, { field })
  return value
}

function channel(value: unknown, field: string): Bytes32 {
  const id = bytes(value, field, 32)
  checkChannelId(id, field)
  return id
}

function signature(value: unknown, field: string): Signature {
  const sig = bytes(value, field, 65)
  parseSignature(sig, field)
  return sig
}

function proposalToWire(p: Proposal): unknown {
  return p.kind === 'add'
    ? ['add', bin(p.target, 'target'), bin(p.left, 'left'), bin(p.right, 'right'), p.leftAmount, p.rightAmount]
    : ['remove', bin(p.target, 'target'), p.leftAmount]
}

function proposalFromWire(value: unknown): Proposal {
  if (!Array.isArray(value)) throw new CodecError('proposal must be a tuple')
  if (value[0] === 'add') {
    const [, target, left, right, leftAmount, rightAmount] = tuple(value, 'proposal', 6)
    checkUint(leftAmount, 'proposal.leftAmount', MAX_UINT256)
    checkUint(rightAmount, 'proposal.rightAmount', MAX_UINT256)
    return { kind: 'add', target: channel(target, 'proposal.target'), left: bytes(left, 'proposal.left', 32) as Destination, right: bytes(right, 'proposal.right', 32) as Destination, leftAmount, rightAmount }
  }
  if (value[0] === 'remove') {
    const [, target, leftAmount] = tuple(value, 'proposal', 3)
    checkUint(leftAmount, 'proposal.leftAmount', MAX_UINT256)
    return { kind: 'remove', target: channel(target, 'proposal.target'), leftAmount }
  }
  throw new CodecError('proposal kind must be add or remove')
}

function signedProposalToWire(sp: SignedProposal): unknown {
  return [proposalToWire(sp.proposal), sp.turnNum, bin(sp.signature, 'signature')]
}

function signedProposalFromWire(value: unknown): SignedProposal {
  const [proposal, turnNum, sig] = tuple(value, 'signedProposal', 3)
  checkUint(turnNum, 'signedProposal.turnNum', MAX_UINT48)
  return { proposal: proposalFromWire(proposal), turnNum, signature: signature(sig, 'signedProposal.signature') }
}

function eventToWire(e: ChannelEvent): unknown {
  return [e.seq, e.kind, e.payload, bin(e.author, 'author'), bin(e.prevHash, 'prevHash'), bin(e.hash, 'hash')]
}

/** Shape and ranges only: whether the event links to the receiver's log and hashes to `hash` is the app core's check. */
function eventFromWire(value: unknown, field: string): ChannelEvent {
  const [seq, kind, payload, author, prevHash, hash] = tuple(value, field, 6)
  checkUint(seq, `${field}.seq`, MAX_UINT64)
  if (seq < 1n) throw new CodecError(`${field}.seq must be at least 1`, { field })
  const name = text(kind, `${field}.kind`, MAX_EVENT_KIND_BYTES)
  if (Buffer.byteLength(name, 'utf8') > MAX_EVENT_KIND_BYTES) throw new CodecError(`${field}.kind is too long`, { field })
  if (!(payload instanceof Uint8Array) || payload.length > MAX_APP_EVENT_BYTES) throw new CodecError(`${field}.payload must be at most ${MAX_APP_EVENT_BYTES} bytes`, { field })
  return {
    seq,
    kind: name,
    payload: Uint8Array.from(payload),
    author: toAddress(bytes(author, `${field}.author`, 20)),
    prevHash: toBytes32(bytes(prevHash, `${field}.prevHash`, 32)),
    hash: toBytes32(bytes(hash, `${field}.hash`, 32)),
  }
}

/** decodeGenesis refuses an invalid definition and any non-canonical encoding of a valid one; on the wire that is a codec error. */
function definitionFromWire(genesis: Uint8Array): AppDefinition {
  try {
    return decodeGenesis(genesis)
  } catch (cause) {
    if (cause instanceof RejectedInputError) throw new CodecError(`appOpen.definition: ${cause.summary}`, { ...cause.details }, { cause })
    throw cause
  }
}

export function payloadToWire(p: Payload): unknown {
  switch (p.kind) {
    case 'signedState':
      return [p.kind, p.objectiveId, signedStateToWire(p.signedState)]
    case 'ledgerUpdateRequest':
      return [p.kind, p.objectiveId, bin(p.request.ledgerId, 'ledgerId'), proposalToWire(p.request.proposal)]
    case 'proposal':
      return [p.kind, bin(p.ledgerId, 'ledgerId'), signedProposalToWire(p.signed)]
    case 'countersignature':
      return [p.kind, bin(p.ledgerId, 'ledgerId'), p.turnNum, bin(p.signature, 'signature')]
    case 'syncRequest':
      return [p.kind, bin(p.ledgerId, 'ledgerId')]
    case 'sync':
      return [p.kind, bin(p.ledgerId, 'ledgerId'), signedStateToWire(p.supported), p.queue.map(signedProposalToWire)]
    case 'objectiveRejected':
      return [p.kind, p.objectiveId, p.code, p.summary]
    case 'finalStateRequest':
      return [p.kind, bin(p.channelId, 'channelId')]
    case 'voucher':
      return [p.kind, voucherToWire(p.voucher)]
    case 'appOpen':
      return [p.kind, encodeGenesis(p.definition), bin(p.stateHash, 'stateHash'), bin(p.signature, 'signature')]
    case 'appUpdate':
      return [p.kind, bin(p.channelId, 'channelId'), eventToWire(p.update.event), signedStateToWire(p.update.signedState), p.update.baseSignatures.map((s) => bin(s, 'baseSignature'))]
    case 'appCountersignature': {
      const c = p.countersignature
      return [p.kind, bin(p.channelId, 'channelId'), c.turnNum, bin(c.stateHash, 'stateHash'), bin(c.signature, 'signature')]
    }
    case 'appRefusal':
      return [p.kind, bin(p.channelId, 'channelId'), p.turnNum, bin(p.eventHash, 'eventHash'), p.code]
  }
}

export function payloadFromWire(value: unknown): Payload {
  if (!Array.isArray(value) || typeof value[0] !== 'string') throw new CodecError('payload must be a tuple starting with its kind')
  switch (value[0]) {
    case 'signedState': {
      const [, objectiveId, signed] = tuple(value, 'signedState', 3)
      return { kind: 'signedState', objectiveId: text(objectiveId, 'objectiveId', MAX_ID_LENGTH), signedState: signedStateFromWire(signed) }
    }
    case 'ledgerUpdateRequest': {
      const [, objectiveId, ledgerId, proposal] = tuple(value, 'ledgerUpdateRequest', 4)
      return {
        kind: 'ledgerUpdateRequest',
        objectiveId: text(objectiveId, 'objectiveId', MAX_ID_LENGTH),
        request: { ledgerId: channel(ledgerId, 'ledgerId'), proposal: proposalFromWire(proposal) },
      }
    }
    case 'proposal': {
      const [, ledgerId, signed] = tuple(value, 'proposal', 3)
      return { kind: 'proposal', ledgerId: channel(ledgerId, 'ledgerId'), signed: signedProposalFromWire(signed) }
    }
    case 'countersignature': {
      const [, ledgerId, turnNum, sig] = tuple(value, 'countersignature', 4)
      checkUint(turnNum, 'turnNum', MAX_UINT48)
      return { kind: 'countersignature', ledgerId: channel(ledgerId, 'ledgerId'), turnNum, signature: signature(sig, 'signature') }
    }
    case 'syncRequest': {
      const [, ledgerId] = tuple(value, 'syncRequest', 2)
      return { kind: 'syncRequest', ledgerId: channel(ledgerId, 'ledgerId') }
    }
    case 'sync': {
      const [, ledgerId, supported, queue] = tuple(value, 'sync', 4)
      if (!Array.isArray(queue) || queue.length > MAX_QUEUED_PROPOSALS) throw new CodecError(`sync queue must be a list of at most ${MAX_QUEUED_PROPOSALS} proposals`)
      // Array.from visits every index: map would skip the holes of a sparse array and let them through.
      const proposals = Array.from(queue, (entry: unknown) => signedProposalFromWire(entry))
      return { kind: 'sync', ledgerId: channel(ledgerId, 'ledgerId'), supported: signedStateFromWire(supported), queue: proposals }
    }
    case 'objectiveRejected': {
      const [, objectiveId, code, summary] = tuple(value, 'objectiveRejected', 4)
      return { kind: 'objectiveRejected', objectiveId: text(objectiveId, 'objectiveId', MAX_ID_LENGTH), code: text(code, 'code', 64), summary: text(summary, 'summary', MAX_TEXT_LENGTH) }
    }
    case 'finalStateRequest': {
      const [, id] = tuple(value, 'finalStateRequest', 2)
      return { kind: 'finalStateRequest', channelId: channel(id, 'channelId') }
    }
    case 'voucher': {
      const [, voucher] = tuple(value, 'voucher', 2)
      return { kind: 'voucher', voucher: voucherFromWire(voucher) }
    }
    case 'appOpen': {
      const [, genesis, stateHash, sig] = tuple(value, 'appOpen', 4)
      if (!(genesis instanceof Uint8Array) || genesis.length > MAX_GENESIS_BYTES) throw new CodecError(`appOpen.definition must be at most ${MAX_GENESIS_BYTES} bytes`)
      return { kind: 'appOpen', definition: definitionFromWire(genesis), stateHash: toBytes32(bytes(stateHash, 'stateHash', 32)), signature: signature(sig, 'signature') }
    }
    case 'appUpdate': {
      const [, id, event, signed, base] = tuple(value, 'appUpdate', 5)
      if (!Array.isArray(base) || base.length > MAX_APP_PARTICIPANTS) throw new CodecError(`appUpdate.baseSignatures must be a list of at most ${MAX_APP_PARTICIPANTS} signatures`)
      const baseSignatures = Array.from(base, (s: unknown, i) => signature(s, `baseSignatures[${i}]`))
      return { kind: 'appUpdate', channelId: channel(id, 'channelId'), update: { event: eventFromWire(event, 'event'), signedState: signedStateFromWire(signed), baseSignatures } }
    }
    case 'appCountersignature': {
      const [, id, turnNum, stateHash, sig] = tuple(value, 'appCountersignature', 5)
      checkUint(turnNum, 'turnNum', MAX_UINT48)
      return { kind: 'appCountersignature', channelId: channel(id, 'channelId'), countersignature: { turnNum, stateHash: toBytes32(bytes(stateHash, 'stateHash', 32)), signature: signature(sig, 'signature') } }
    }
    case 'appRefusal': {
      const [, id, turnNum, eventHash, code] = tuple(value, 'appRefusal', 5)
      checkUint(turnNum, 'turnNum', MAX_UINT48)
      if (typeof code !== 'string' || !ERROR_CODE.test(code)) throw new CodecError('appRefusal.code must be an error code (a-z, 0-9, _; at most 64)', { field: 'code' })
      return { kind: 'appRefusal', channelId: channel(id, 'channelId'), turnNum, eventHash: toBytes32(bytes(eventHash, 'eventHash', 32)), code }
    }
    default:
      throw new CodecError('unknown payload kind', { kind: String(value[0]).slice(0, 40) })
  }
}
