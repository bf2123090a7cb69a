// What an app channel commits to (DESIGN §4.1, docs/architecture/app-abi.md), as ABI encodings anyone can
// recompute in Solidity or any language:
// - every signed state's appData = abi.encode(bytes32 logHead, uint64 eventCount, bytes32 appStateHash):
//   the hash of the log's last event, its seq (the genesis counts: turn t commits to t + 1 events) and
//   keccak256 of the app state bytes after it;
// - the genesis event's payload = abi.encode(address[] participants, uint64 channelNonce, address
//   appDefinition, uint48 challengeDuration, bytes32 appId, address asset, uint256[] deposits, bytes params,
//   uint8 funding, uint48 moveTimeout):
//   the channel's whole definition, so an exported log is self-contained and a log cannot be replayed
//   under another channel, module, funding or rules.
// Decoders refuse anything but the canonical encoding of a valid value: other bytes would hash differently.
import { decodeAbiParameters, encodeAbiParameters } from 'viem'
import type { Address, Bytes32, Hex } from '../../core/types.js'
import type { FixedPart } from '../../core/state.js'
import { checkFixedPart } from '../../core/state.js'
import { RejectedInputError } from '../../core/errors.js'
import { bytesToHex, isHex, trustedHexToBytes } from '../../core/hex.js'
import { MAX_UINT256, MAX_UINT48, MAX_UINT64 } from '../../core/limits.js'
import { checkAddress, checkBytes32, checkUint } from '../../core/validate.js'
import { InvalidAppDataError, InvalidDefinitionError } from './errors.js'
import { MAX_APP_PARAMS_BYTES, MAX_APP_PARTICIPANTS, MIN_APP_PARTICIPANTS } from './limits.js'
import { toAddress, toBytes32 } from '../../core/canonical.js'

/** The kind of an app channel's first event (seq 1), whose payload is the encoded definition. */
export const GENESIS_EVENT_KIND = 'app.genesis'
/** The kind of every later event: its payload is the app's event bytes, passed to `apply` as they are. */
export const APP_EVENT_KIND = 'app.event'

export interface AppData {
  readonly logHead: Bytes32
  readonly eventCount: bigint
  readonly appStateHash: Bytes32
}

const APP_DATA_BYTES = 3 * 32
const appDataAbi = [{ type: 'bytes32' }, { type: 'uint64' }, { type: 'bytes32' }] as const

export function encodeAppData(data: AppData): Hex {
  try {
    checkBytes32(data.logHead, 'logHead')
    checkUint(data.eventCount, 'eventCount', MAX_UINT64)
    checkBytes32(data.appStateHash, 'appStateHash')
  } catch (cause) {
    throw rewrap(cause, InvalidAppDataError, 'appData')
  }
  return encodeAbiParameters(appDataAbi, [data.logHead, data.eventCount, data.appStateHash]).toLowerCase() as Hex
}

/** Decodes a signed state's appData; refuses any other length and non-canonical bytes (dirty padding). */
export function decodeAppData(bytes: Hex): AppData {
  if (!isHex(bytes)) throw new InvalidAppDataError('appData is not 0x-prefixed even-length hex')
  if (bytes.length !== 2 + 2 * APP_DATA_BYTES) {
    throw new InvalidAppDataError(`appData must be ${APP_DATA_BYTES} bytes`, { actual: (bytes.length - 2) / 2 })
  }
  let decoded: readonly [Hex, bigint, Hex]
  try {
    decoded = decodeAbiParameters(appDataAbi, bytes)
  } catch (cause) {
    throw new InvalidAppDataError('appData is not abi.encode(bytes32, uint64, bytes32)', {}, { cause })
  }
  const [logHead, eventCount, appStateHash] = decoded
  const data: AppData = { logHead: toBytes32(logHead), eventCount, appStateHash: toBytes32(appStateHash) }
  // A uint64 word with bits above 64 set decodes to a value the encoder refuses or writes differently.
  let canonical: Hex
  try {
    canonical = encodeAppData(data)
  } catch (cause) {
    throw new InvalidAppDataError('appData is not canonically encoded', {}, { cause })
  }
  if (canonical !== bytes.toLowerCase()) throw new InvalidAppDataError('appData is not canonically encoded')
  return data
}

/**
 * How the channel's deposits reach the adjudicator (src/protocols/app/appFund.ts): 'direct' — each
 * participant deposits its share on chain, in participant order; 'ledger' — two participants who share a
 * ledger channel lock their shares in a guarantee for this channel; 'none' — nothing is held for it (the
 * outcome is an agreement the participants settle elsewhere, or a score).
 */
export type FundingMode = 'none' | 'direct' | 'ledger'
export const FUNDING_MODES: readonly FundingMode[] = ['none', 'direct', 'ledger']

/** An app channel as its participants agreed on it, and as its genesis event records it. */
export interface AppDefinition {
  /** appDefinition is the ConsensusApp's address: every state is enforced on chain only when signed by all. */
  readonly fixed: FixedPart
  /** keccak256 of the module as built (app-abi.md). */
  readonly appId: Bytes32
  /** The app's params; the first byte is the number of participants (app-abi.md). */
  readonly params: Uint8Array
  /** The one asset the channel holds; 0x0 is ETH. */
  readonly asset: Address
  /** What each participant puts in, by participant index; their sum is the channel's total. */
  readonly deposits: readonly bigint[]
  /** Absent means 'none'. Part of the genesis: every participant agrees on who deposits what, where. */
  readonly funding?: FundingMode
  /**
   * Seconds a participant has to make its move once the turn before it is signed by all; after that anyone
   * may submit the app's timeout event (0xff) and the others' nodes countersign it. Absent or 0: timeout
   * events are never admitted. Each node measures the deadline on its own clock (appChannel.ts).
   */
  readonly moveTimeout?: number
}

const genesisAbi = [
  { type: 'address[]' },
  { type: 'uint64' },
  { type: 'address' },
  { type: 'uint48' },
  { type: 'bytes32' },
  { type: 'address' },
  { type: 'uint256[]' },
  { type: 'bytes' },
  { type: 'uint8' },
  { type: 'uint48' },
] as const

/** Throws InvalidDefinitionError naming the first field out of shape or range. */
export function checkDefinition(definition: AppDefinition): void {
  try {
    checkFixedPart(definition.fixed, 'definition.fixed')
    const { participants } = definition.fixed
    const n = participants.length
    if (n < MIN_APP_PARTICIPANTS || n > MAX_APP_PARTICIPANTS) {
      throw new InvalidDefinitionError(`an app channel has ${MIN_APP_PARTICIPANTS}..${MAX_APP_PARTICIPANTS} participants`, { actual: n })
    }
    if (new Set(participants.map((p) => p)).size !== n) throw new InvalidDefinitionError('participants must be distinct')
    checkBytes32(definition.appId, 'definition.appId')
    checkAddress(definition.asset, 'definition.asset')
    if (!Array.isArray(definition.deposits) || definition.deposits.length !== n) {
      throw new InvalidDefinitionError('one deposit per participant', { participants: n })
    }
    let total = 0n
    for (let i = 0; i < n; i++) {
      checkUint(definition.deposits[i], `definition.deposits[${i}]`, MAX_UINT256)
      total += definition.deposits[i]!
    }
    checkUint(total, 'total of deposits', MAX_UINT256)
    const { params } = definition
    if (!(params instanceof Uint8Array) || params.length < 1 || params.length > MAX_APP_PARAMS_BYTES) {
      throw new InvalidDefinitionError(`params must be 1..${MAX_APP_PARAMS_BYTES} bytes`)
    }
    if (params[0] !== n) throw new InvalidDefinitionError('params must begin with the number of participants', { first: params[0], participants: n })
    const funding = fundingOf(definition)
    if (!FUNDING_MODES.includes(funding)) throw new InvalidDefinitionError(`funding must be one of ${FUNDING_MODES.join(', ')}`, { actual: funding })
    if (funding === 'ledger' && n !== 2) throw new InvalidDefinitionError('a channel funded from a ledger has two participants (the ledger\'s)', { participants: n })
    const moveTimeout = moveTimeoutOf(definition)
    if (!Number.isSafeInteger(moveTimeout) || moveTimeout < 0 || moveTimeout > Number(MAX_UINT48)) {
      throw new InvalidDefinitionError('moveTimeout must be a whole number of seconds below 2^48', { actual: moveTimeout })
    }
  } catch (cause) {
    throw rewrap(cause, InvalidDefinitionError, 'definition')
  }
}

export function encodeGenesis(definition: AppDefinition): Uint8Array {
  checkDefinition(definition)
  const { fixed } = definition
  const encoded = encodeAbiParameters(genesisAbi, [
    fixed.participants,
    fixed.channelNonce,
    fixed.appDefinition,
    fixed.challengeDuration,
    definition.appId,
    definition.asset,
    definition.deposits,
    bytesToHex(definition.params),
    FUNDING_MODES.indexOf(fundingOf(definition)),
    moveTimeoutOf(definition),
  ])
  return trustedHexToBytes(encoded)
}

/** Decodes a genesis payload; refuses an invalid definition and any non-canonical encoding of a valid one. */
export function decodeGenesis(payload: Uint8Array): AppDefinition {
  const hex = bytesToHex(payload)
  let decoded: ReturnType<typeof decodeAbiParameters<typeof genesisAbi>>
  try {
    decoded = decodeAbiParameters(genesisAbi, hex)
  } catch (cause) {
    throw new InvalidDefinitionError('genesis payload is not an ABI-encoded definition', {}, { cause })
  }
  const [participants, channelNonce, appDefinition, challengeDuration, appId, asset, deposits, params, fundingIndex, moveTimeout] = decoded
  const funding = FUNDING_MODES[fundingIndex]
  if (funding === undefined) throw new InvalidDefinitionError('genesis payload names an unknown funding', { actual: fundingIndex })
  const definition: AppDefinition = {
    fixed: { participants: participants.map(toAddress), channelNonce, appDefinition: toAddress(appDefinition), challengeDuration },
    appId: toBytes32(appId),
    params: trustedHexToBytes(params),
    asset: toAddress(asset),
    deposits,
    funding,
    moveTimeout,
  }
  if (bytesToHex(encodeGenesis(definition)) !== hex) throw new InvalidDefinitionError('genesis payload is not canonically encoded')
  return definition
}

export function fundingOf(definition: AppDefinition): FundingMode {
  return definition.funding ?? 'none'
}

export function moveTimeoutOf(definition: AppDefinition): number {
  return definition.moveTimeout ?? 0
}

/** Total the channel holds once funded: the sum of the deposits. */
export function totalDeposits(definition: AppDefinition): bigint {
  return definition.deposits.reduce((sum, d) => sum + d, 0n)
}

type ErrorClass = new (summary: string, details?: Record<string, unknown>, options?: { cause?: unknown }) => RejectedInputError

/** A core validator's refusal, re-coded as this module's error; anything else (a bug) passes through. */
function rewrap(cause: unknown, ErrorClass: ErrorClass, what: string): unknown {
  if (cause instanceof ErrorClass) return cause
  if (cause instanceof RejectedInputError) return new ErrorClass(`${what}: ${cause.summary}`, { ...cause.details }, { cause })
  return cause
}
