// The preimage of a state hash, abi.encode(bytes32 channelId, bytes appData, Exit outcome, uint256 turnNum,
// bool isFinal), written straight into one buffer. viem's general encoder spends ~0.5 ms on a ledger state
// with 50 guarantees (hex strings, padding, concatenation), which put the ledger's 100-proposal budget out
// of reach. This encoder computes the layout's size first, then writes every word in place. It is checked
// byte for byte against viem's encodeAbiParameters by property tests on random states
// (stateEncoding.test.ts). ADR 0006.
import type { Bytes32, Hex } from './types.js'
import type { Allocation, Exit, SingleAssetExit } from './outcome.js'

const WORD = 32
const hexLength = (hex: Hex) => (hex.length - 2) / 2
const padded = (length: number) => Math.ceil(length / WORD) * WORD

// ---- sizes (bytes) of each dynamic part ----
const bytesSize = (hex: Hex) => WORD + padded(hexLength(hex))
const allocationSize = (a: Allocation) => 4 * WORD + bytesSize(a.metadata)
const exitSize = (e: SingleAssetExit) =>
  3 * WORD + (2 * WORD + bytesSize(e.assetMetadata.metadata)) + WORD * (1 + e.allocations.length) + e.allocations.reduce((n, a) => n + allocationSize(a), 0)

class Writer {
  readonly buffer: Buffer
  at = 0
  constructor(size: number) {
    this.buffer = Buffer.alloc(size) // zero-filled: words only need their significant bytes written
  }
  /** A small unsigned integer (offsets, lengths, uint8, bool). */
  uint(value: number): void {
    this.buffer.writeUInt32BE(value, this.at + 28)
    this.at += WORD
  }
  bigint(value: bigint): void {
    if (value < 0x1_0000_0000n) this.buffer.writeUInt32BE(Number(value), this.at + 28)
    else this.buffer.write(value.toString(16).padStart(64, '0'), this.at, 'hex')
    this.at += WORD
  }
  /** bytes32: left-aligned. */
  bytes32(hex: Hex): void {
    this.buffer.write(hex.slice(2), this.at, 'hex')
    this.at += WORD
  }
  /** address: right-aligned in its word. */
  address(hex: Hex): void {
    this.buffer.write(hex.slice(2), this.at + 12, 'hex')
    this.at += WORD
  }
  /** bytes: length word, then the data right-padded to whole words. */
  bytes(hex: Hex): void {
    const length = hexLength(hex)
    this.uint(length)
    this.buffer.write(hex.slice(2), this.at, 'hex')
    this.at += padded(length)
  }
  /** An array of dynamic elements: length, one offset per element (from the first offset), then the elements. */
  dynamicArray<T>(items: readonly T[], sizeOf: (item: T) => number, write: (item: T) => void): void {
    this.uint(items.length)
    let offset = items.length * WORD
    for (const item of items) {
      this.uint(offset)
      offset += sizeOf(item)
    }
    for (const item of items) write(item)
  }
}

function writeExit(w: Writer, e: SingleAssetExit): void {
  const metadataSize = 2 * WORD + bytesSize(e.assetMetadata.metadata)
  w.address(e.asset)
  w.uint(3 * WORD) // assetMetadata follows the 3-word head
  w.uint(3 * WORD + metadataSize) // allocations follow assetMetadata
  w.uint(e.assetMetadata.assetType)
  w.uint(2 * WORD) // metadata follows the 2-word head
  w.bytes(e.assetMetadata.metadata)
  w.dynamicArray(e.allocations, allocationSize, (a) => {
    w.bytes32(a.destination)
    w.bigint(a.amount)
    w.uint(a.allocationType)
    w.uint(4 * WORD) // metadata follows the 4-word head
    w.bytes(a.metadata)
  })
}

/** Callers validate the state first (checkState): this only lays out bytes. */
export function encodeStateHashPreimage(channelId: Bytes32, appData: Hex, outcome: Exit, turnNum: bigint, isFinal: boolean): Buffer {
  const appDataSize = bytesSize(appData)
  const outcomeSize = WORD * (1 + outcome.length) + outcome.reduce((n, e) => n + exitSize(e), 0)
  const w = new Writer(5 * WORD + appDataSize + outcomeSize)
  w.bytes32(channelId)
  w.uint(5 * WORD) // appData follows the 5-word head
  w.uint(5 * WORD + appDataSize) // outcome follows appData
  w.bigint(turnNum)
  w.uint(isFinal ? 1 : 0)
  w.bytes(appData)
  w.dynamicArray(outcome, exitSize, (e) => writeExit(w, e))
  return w.buffer
}
