// A channel state (DESIGN §3). `State` flattens Nitro's FixedPart (who, which nonce, which app, how
// long a challenge lasts) and VariablePart (this turn's app data and outcome) into one value.
import type { Address, Hex } from './types.js'
import type { Exit } from './outcome.js'
import { checkOutcome } from './outcome.js'
import { InvalidStateError } from './errors.js'
import { MAX_APP_DATA_BYTES, MAX_PARTICIPANTS, MAX_UINT48, MAX_UINT64 } from './limits.js'
import { checkAddress, checkArray, checkBytes, checkSmallUint, checkUint } from './validate.js'

export interface FixedPart {
  readonly participants: readonly Address[]
  readonly channelNonce: bigint
  readonly appDefinition: Address
  /** Seconds; uint48 on chain. */
  readonly challengeDuration: number
}

export interface VariablePart {
  readonly outcome: Exit
  readonly appData: Hex
  readonly turnNum: bigint
  readonly isFinal: boolean
}

export interface State extends FixedPart, VariablePart {}

export function fixedPart(state: State): FixedPart {
  const { participants, channelNonce, appDefinition, challengeDuration } = state
  return { participants, channelNonce, appDefinition, challengeDuration }
}

export function variablePart(state: State): VariablePart {
  const { outcome, appData, turnNum, isFinal } = state
  return { outcome, appData, turnNum, isFinal }
}

export function checkFixedPart(fixed: unknown, field = 'fixedPart'): asserts fixed is FixedPart {
  if (typeof fixed !== 'object' || fixed === null) throw new InvalidStateError(`${field} must be an object`, { field })
  const { participants, channelNonce, appDefinition, challengeDuration } = fixed as Record<string, unknown>
  checkArray(participants, `${field}.participants`, MAX_PARTICIPANTS)
  if (participants.length === 0) throw new InvalidStateError(`${field}.participants is empty`, { field: `${field}.participants` })
  for (let i = 0; i < participants.length; i++) checkAddress(participants[i], `${field}.participants[${i}]`)
  checkUint(channelNonce, `${field}.channelNonce`, MAX_UINT64)
  checkAddress(appDefinition, `${field}.appDefinition`)
  checkSmallUint(challengeDuration, `${field}.challengeDuration`, Number(MAX_UINT48))
}

export function checkVariablePart(variable: unknown, field = 'state'): asserts variable is VariablePart {
  if (typeof variable !== 'object' || variable === null) throw new InvalidStateError(`${field} must be an object`, { field })
  const { outcome, appData, turnNum, isFinal } = variable as Record<string, unknown>
  checkOutcome(outcome, `${field}.outcome`)
  checkBytes(appData, `${field}.appData`, MAX_APP_DATA_BYTES)
  checkUint(turnNum, `${field}.turnNum`, MAX_UINT48)
  if (typeof isFinal !== 'boolean') throw new InvalidStateError(`${field}.isFinal must be a boolean`, { field: `${field}.isFinal` })
}

/** Throws a RejectedInputError naming the first field out of shape or range. */
export function checkState(state: unknown, field = 'state'): asserts state is State {
  checkFixedPart(state, field)
  checkVariablePart(state, field)
}
