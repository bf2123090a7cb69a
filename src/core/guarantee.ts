// Guarantee metadata (DESIGN §3): a guarantee allocation in a ledger channel names the two ledger
// participants (left, right) whose funds it locks for a virtual channel; abi.encode((bytes32, bytes32)).
import { decodeAbiParameters } from 'viem'
import type { Destination, Hex } from './types.js'
import { checkBytes32 } from './validate.js'
import { InvalidLengthError } from './errors.js'
import { hexToBytes } from './hex.js'
import { toBytes32 } from './canonical.js'

export interface GuaranteeMetadata {
  readonly left: Destination
  readonly right: Destination
}

const metadataAbi = [{ type: 'tuple', components: [{ name: 'left', type: 'bytes32' }, { name: 'right', type: 'bytes32' }] }] as const

/**
 * abi.encode of a tuple of two static words is their concatenation (no offsets): computed directly,
 * because a ledger state hash encodes one of these per guarantee (tests compare it with viem's encoder).
 */
export function encodeGuaranteeMetadata(m: GuaranteeMetadata): Hex {
  checkBytes32(m.left, 'left')
  checkBytes32(m.right, 'right')
  return `0x${m.left.slice(2)}${m.right.slice(2)}`.toLowerCase() as Hex
}

export function decodeGuaranteeMetadata(metadata: Hex): GuaranteeMetadata {
  const bytes = hexToBytes(metadata, 'metadata')
  if (bytes.length !== 64) throw new InvalidLengthError('guarantee metadata must be 64 bytes', { expected: 64, actual: bytes.length })
  const [{ left, right }] = decodeAbiParameters(metadataAbi, metadata)
  return { left: toBytes32(left), right: toBytes32(right) }
}
