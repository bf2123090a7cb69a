// Wire forms of the core types (ADR 0003): compact tuples with byte strings as binary, bigints as
// bigints. `from*` functions are edges: they validate everything and throw RejectedInputError.
import type { Address, Hex, Signature } from './types.js'
import type { Allocation, Exit, SingleAssetExit } from './outcome.js'
import type { State } from './state.js'
import type { SignedState } from './signedState.js'
import type { Voucher } from './voucher.js'
import { checkState } from './state.js'
import { checkChannelId } from './channelId.js'
import { parseSignature } from './signatures.js'
import { checkArray, checkUint } from './validate.js'
import { CodecError, InvalidLengthError } from './errors.js'
import { bytesToHex, hexToBytes } from './hex.js'
import { MAX_ALLOCATIONS, MAX_ASSETS, MAX_PARTICIPANTS, MAX_UINT256 } from './limits.js'
import { toAddress, toBytes32 } from './canonical.js'

type Bin = Uint8Array

function bin(hex: Hex, field: string): Bin {
  return hexToBytes(hex, field)
}

function hex(value: unknown, field: string, length?: number): Hex {
  if (!(value instanceof Uint8Array)) throw new CodecError(`${field} must be bytes`, { field })
  if (length !== undefined && value.length !== length) {
    throw new InvalidLengthError(`${field} must be ${length} bytes`, { field, expected: length, actual: value.length })
  }
  return bytesToHex(value)
}

function address(value: unknown, field: string): Address {
  return toAddress(hex(value, field, 20))
}

function tuple(value: unknown, field: string, length: number): unknown[] {
  if (!Array.isArray(value) || value.length !== length) throw new CodecError(`${field} must be a ${length}-tuple`, { field })
  return value
}

/** A list checked against its cap before any entry is parsed (STYLE §4: size caps first). */
function list(value: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw new CodecError(`${field} must be a list`, { field })
  checkArray(value, field, max)
  return value
}

export function outcomeToWire(outcome: Exit): unknown {
  return outcome.map((exit) => [
    bin(exit.asset, 'asset'),
    exit.assetMetadata.assetType,
    bin(exit.assetMetadata.metadata, 'assetMetadata.metadata'),
    exit.allocations.map((a) => [bin(a.destination, 'destination'), a.amount, a.allocationType, bin(a.metadata, 'metadata')]),
  ])
}

/** Shape only; ranges are checked by checkState on the whole state. */
function outcomeFromWire(value: unknown): Exit {
  return list(value, 'outcome', MAX_ASSETS).map((raw, i): SingleAssetExit => {
    const [asset, assetType, metadata, allocations] = tuple(raw, `outcome[${i}]`, 4)
    return {
      asset: address(asset, `outcome[${i}].asset`),
      assetMetadata: { assetType: assetType as number, metadata: hex(metadata, `outcome[${i}].assetMetadata.metadata`) },
      allocations: list(allocations, `outcome[${i}].allocations`, MAX_ALLOCATIONS).map((rawAllocation, j): Allocation => {
        const at = `outcome[${i}].allocations[${j}]`
        const [destination, amount, allocationType, allocationMetadata] = tuple(rawAllocation, at, 4)
        return {
          destination: toBytes32(hex(destination, `${at}.destination`, 32)),
          amount: amount as bigint,
          allocationType: allocationType as number,
          metadata: hex(allocationMetadata, `${at}.metadata`),
        }
      }),
    }
  })
}

export function stateToWire(s: State): unknown {
  return [
    s.participants.map((p) => bin(p, 'participant')),
    s.channelNonce,
    bin(s.appDefinition, 'appDefinition'),
    s.challengeDuration,
    outcomeToWire(s.outcome),
    bin(s.appData, 'appData'),
    s.turnNum,
    s.isFinal,
  ]
}

export function stateFromWire(value: unknown): State {
  const [participants, channelNonce, appDefinition, challengeDuration, outcome, appData, turnNum, isFinal] = tuple(value, 'state', 8)
  const state = {
    participants: list(participants, 'participants', MAX_PARTICIPANTS).map((p, i) => address(p, `participants[${i}]`)),
    channelNonce,
    appDefinition: address(appDefinition, 'appDefinition'),
    challengeDuration,
    outcome: outcomeFromWire(outcome),
    appData: hex(appData, 'appData'),
    turnNum,
    isFinal,
  }
  checkState(state)
  return state
}

export function signedStateToWire(signed: SignedState): unknown {
  return [stateToWire(signed.state), signed.signatures.map((sig) => (sig === null ? null : bin(sig, 'signature')))]
}

/** Validates shape, ranges and signature encodings; whether each signature is the participant's is the caller's check. */
export function signedStateFromWire(value: unknown): SignedState {
  const [rawState, rawSignatures] = tuple(value, 'signedState', 2)
  const state = stateFromWire(rawState)
  // Array.from, not map: map skips the holes of a sparse array, which must be refused like any non-signature.
  const signatures = Array.from(list(rawSignatures, 'signatures', MAX_PARTICIPANTS), (sig, i): Signature | null => {
    if (sig === null) return null
    const signature = hex(sig, `signatures[${i}]`, 65)
    parseSignature(signature, `signatures[${i}]`)
    return signature
  })
  if (signatures.length !== state.participants.length) {
    throw new InvalidLengthError('one signature slot per participant expected', { expected: state.participants.length, actual: signatures.length })
  }
  return { state, signatures }
}

export function voucherToWire(voucher: Voucher): unknown {
  return [bin(voucher.channelId, 'channelId'), voucher.amount, bin(voucher.signature, 'signature')]
}

export function voucherFromWire(value: unknown): Voucher {
  const [channelId, amount, signature] = tuple(value, 'voucher', 3)
  const id = hex(channelId, 'voucher.channelId', 32)
  checkChannelId(id, 'voucher.channelId')
  checkUint(amount, 'voucher.amount', MAX_UINT256)
  const sig = hex(signature, 'voucher.signature', 65)
  parseSignature(sig, 'voucher.signature')
  return { channelId: id, amount, signature: sig }
}
