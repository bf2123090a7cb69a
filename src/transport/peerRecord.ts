// The record that binds a libp2p identity to a channel address (docs/adr/0010-libp2p-transport.md): the
// node's Ethereum key signs "this peer id speaks for my address". Noise proves who holds the peer id on a
// connection; this record proves which address that peer id may speak for. Pure: no clock (the signing
// time is an argument), no I/O.
//
// Layout, version 1 (big-endian):
//   version u8 ‖ signedAtMs u64 ‖ address (20) ‖ signature (65, r ‖ s ‖ v) ‖ peerIdLength u8 ‖ peerId
// The signature is over keccak256(DOMAIN ‖ version ‖ signedAtMs ‖ address ‖ peerIdLength ‖ peerId), EIP-191
// prefixed like every signature of the node (core/signatures.ts). The domain string keeps a record hash
// from ever equalling a state or voucher hash, which are keccak256 of ABI encodings.
import { RejectedInputError } from '../core/errors.js'
import { bytesToHex } from '../core/hex.js'
import { keccak256 } from '../core/keccak.js'
import { recoverHashSigner } from '../core/signatures.js'
import type { Signer } from '../core/signer.js'
import type { Address, Bytes32, Signature } from '../core/types.js'
import { MAX_RECORD_BYTES } from './limits.js'
import { toAddress } from '../core/canonical.js'

export const PEER_RECORD_VERSION = 1
const DOMAIN = new TextEncoder().encode('channels/peer-record')
const ADDRESS_BYTES = 20
const SIGNATURE_BYTES = 65
/** Bytes before the peer id: version, signedAtMs, address, signature, peerIdLength. */
const FIXED_BYTES = 1 + 8 + ADDRESS_BYTES + SIGNATURE_BYTES + 1
/** The peer id's length is one byte; libp2p's Ed25519 and secp256k1 ids are 38 and 39 bytes. */
const MAX_PEER_ID_BYTES = 255

export interface PeerRecord {
  /** The peer id as libp2p's multihash bytes (`peerId.toMultihash().bytes`). */
  readonly peerId: Uint8Array
  /** The channel address that signed the record, checksummed. */
  readonly address: Address
  /** When the record was signed (ms since the epoch); informational, see the ADR. */
  readonly signedAtMs: number
}

/** The bytes are not a version-1 record. */
export class MalformedPeerRecordError extends RejectedInputError {
  readonly code = 'malformed_peer_record'
}
/** The record is for another peer id than the one noise authenticated on this connection. */
export class PeerRecordPeerMismatchError extends RejectedInputError {
  readonly code = 'peer_record_peer_mismatch'
}
/** The signature is invalid or was made by another key than the address the record claims. */
export class PeerRecordSignatureError extends RejectedInputError {
  readonly code = 'peer_record_signature'
}

/** keccak256 of the domain-separated record body: what the address's key signs. */
export function peerRecordHash(peerId: Uint8Array, address: Address, signedAtMs: number): Bytes32 {
  return keccak256(DOMAIN, encodeBody(peerId, address, signedAtMs))
}

/** A version-1 record binding `peerId` to `signer.address`, signed now (`signedAtMs`, from the caller's clock). */
export function signPeerRecord(signer: Signer, peerId: Uint8Array, signedAtMs: number): Uint8Array {
  checkPeerId(peerId)
  checkSignedAt(signedAtMs)
  const signature = Buffer.from(signer.signHash(peerRecordHash(peerId, signer.address, signedAtMs)).slice(2), 'hex')
  const out = Buffer.alloc(FIXED_BYTES + peerId.length)
  out[0] = PEER_RECORD_VERSION
  out.writeBigUInt64BE(BigInt(signedAtMs), 1)
  out.set(Buffer.from(signer.address.slice(2), 'hex'), 9)
  out.set(signature, 9 + ADDRESS_BYTES)
  out[FIXED_BYTES - 1] = peerId.length
  out.set(peerId, FIXED_BYTES)
  return out
}

/**
 * Checks a record received on a connection whose remote noise authenticated as `remotePeerId` (multihash
 * bytes). Returns the record when it is for that peer id and signed by the address it names; otherwise
 * throws MalformedPeerRecordError, PeerRecordPeerMismatchError or PeerRecordSignatureError, never anything else.
 */
export function verifyPeerRecord(bytes: Uint8Array, remotePeerId: Uint8Array): PeerRecord {
  const { record, signature } = decodePeerRecord(bytes)
  if (!equalBytes(record.peerId, remotePeerId)) {
    throw new PeerRecordPeerMismatchError('peer record is for another peer id', { address: record.address })
  }
  let signer: Address
  try {
    signer = recoverHashSigner(peerRecordHash(record.peerId, record.address, record.signedAtMs), signature)
  } catch (cause) {
    throw new PeerRecordSignatureError('peer record signature is invalid', { address: record.address }, { cause })
  }
  if (signer !== record.address) {
    throw new PeerRecordSignatureError('peer record is not signed by the address it names', { address: record.address, signer })
  }
  return record
}

/** Parses the layout only (no signature check). Throws MalformedPeerRecordError. */
export function decodePeerRecord(bytes: Uint8Array): { record: PeerRecord; signature: Signature } {
  if (!(bytes instanceof Uint8Array)) throw new MalformedPeerRecordError('peer record must be bytes')
  if (bytes.length < FIXED_BYTES + 1 || bytes.length > MAX_RECORD_BYTES) {
    throw new MalformedPeerRecordError('peer record has a bad length', { length: bytes.length })
  }
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = buffer[0]
  if (version !== PEER_RECORD_VERSION) throw new MalformedPeerRecordError('unknown peer record version', { version })
  const signedAt = buffer.readBigUInt64BE(1)
  if (signedAt > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedPeerRecordError('peer record time out of range')
  const peerIdLength = buffer[FIXED_BYTES - 1]!
  if (peerIdLength === 0 || bytes.length !== FIXED_BYTES + peerIdLength) {
    throw new MalformedPeerRecordError('peer record peer id length does not match', { peerIdLength, length: bytes.length })
  }
  const record: PeerRecord = {
    peerId: new Uint8Array(buffer.subarray(FIXED_BYTES)),
    address: toAddress(bytesToHex(buffer.subarray(9, 9 + ADDRESS_BYTES))),
    signedAtMs: Number(signedAt),
  }
  return { record, signature: bytesToHex(buffer.subarray(9 + ADDRESS_BYTES, 9 + ADDRESS_BYTES + SIGNATURE_BYTES)) }
}

function encodeBody(peerId: Uint8Array, address: Address, signedAtMs: number): Uint8Array {
  const body = Buffer.alloc(1 + 8 + ADDRESS_BYTES + 1 + peerId.length)
  body[0] = PEER_RECORD_VERSION
  body.writeBigUInt64BE(BigInt(signedAtMs), 1)
  body.set(Buffer.from(address.slice(2), 'hex'), 9)
  body[9 + ADDRESS_BYTES] = peerId.length
  body.set(peerId, 10 + ADDRESS_BYTES)
  return body
}

function checkPeerId(peerId: Uint8Array): void {
  if (peerId.length === 0 || peerId.length > MAX_PEER_ID_BYTES || FIXED_BYTES + peerId.length > MAX_RECORD_BYTES) {
    throw new MalformedPeerRecordError('peer id must be 1 to 255 bytes', { length: peerId.length })
  }
}

function checkSignedAt(signedAtMs: number): void {
  if (!Number.isSafeInteger(signedAtMs) || signedAtMs < 0) {
    throw new MalformedPeerRecordError('signedAtMs must be a non-negative safe integer', { signedAtMs })
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0
}
