// The peer record binds a libp2p peer id to a channel address: valid records verify; a record for another
// peer id, signed by another key, tampered with or not a record at all is refused with a typed error.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RejectedInputError } from '../core/errors.js'
import { createSigner } from '../core/signer.js'
import {
  MalformedPeerRecordError, PeerRecordPeerMismatchError, PeerRecordSignatureError, decodePeerRecord,
  peerRecordHash, signPeerRecord, verifyPeerRecord,
} from './peerRecord.js'

const alice = createSigner(`0x${'11'.repeat(32)}`)
const mallory = createSigner(`0x${'22'.repeat(32)}`)
const SIGNED_AT = 1_760_000_000_000

async function newPeerId(): Promise<Uint8Array> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toMultihash().bytes
}

function refusal(run: () => unknown): RejectedInputError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(RejectedInputError)
    return error as RejectedInputError
  }
  throw new Error('expected a refusal')
}

describe('peer records', () => {
  test('a record signed by the address verifies against its peer id', async () => {
    const peerId = await newPeerId()
    const record = verifyPeerRecord(signPeerRecord(alice, peerId, SIGNED_AT), peerId)
    expect(record.address).toBe(alice.address)
    expect(record.peerId).toEqual(peerId)
    expect(record.signedAtMs).toBe(SIGNED_AT)
  })

  test('a record for another peer id is refused', async () => {
    const bytes = signPeerRecord(alice, await newPeerId(), SIGNED_AT)
    const error = refusal(() => verifyPeerRecord(bytes, new Uint8Array(0)))
    expect(error).toBeInstanceOf(PeerRecordPeerMismatchError)
    expect(refusal(() => verifyPeerRecord(bytes, Buffer.alloc(38, 7))).code).toBe('peer_record_peer_mismatch')
  })

  test('a record naming one address but signed by another key is refused', async () => {
    const peerId = await newPeerId()
    // Mallory signs a body that names Alice's address.
    const forged = Buffer.from(signPeerRecord(alice, peerId, SIGNED_AT))
    const signature = mallory.signHash(peerRecordHash(peerId, alice.address, SIGNED_AT))
    forged.set(Buffer.from(signature.slice(2), 'hex'), 29)
    const error = refusal(() => verifyPeerRecord(forged, peerId))
    expect(error).toBeInstanceOf(PeerRecordSignatureError)
    expect(error.code).toBe('peer_record_signature')
    // Mallory's own record is fine, and names Mallory.
    expect(verifyPeerRecord(signPeerRecord(mallory, peerId, SIGNED_AT), peerId).address).toBe(mallory.address)
  })

  test('changing any byte of a record makes it fail verification', async () => {
    const peerId = await newPeerId()
    const bytes = signPeerRecord(alice, peerId, SIGNED_AT)
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Uint8Array.from(bytes)
      tampered[i] = tampered[i]! ^ 0x01
      const error = refusal(() => verifyPeerRecord(tampered, peerId))
      expect(['malformed_peer_record', 'peer_record_peer_mismatch', 'peer_record_signature']).toContain(error.code)
    }
    // Tampering with the peer id while verifying against the tampered id still fails: the signature covers it.
    const tampered = Uint8Array.from(bytes)
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0x01
    expect(refusal(() => verifyPeerRecord(tampered, tampered.subarray(95))).code).toBe('peer_record_signature')
  })

  test('truncated, extended and unknown-version records are malformed', async () => {
    const peerId = await newPeerId()
    const bytes = signPeerRecord(alice, peerId, SIGNED_AT)
    for (const bad of [bytes.subarray(0, bytes.length - 1), Buffer.concat([bytes, Buffer.of(0)]), new Uint8Array(0),
      Uint8Array.of(2, ...bytes.subarray(1)), new Uint8Array(4096)]) {
      expect(refusal(() => verifyPeerRecord(bad, peerId))).toBeInstanceOf(MalformedPeerRecordError)
    }
    expect(refusal(() => decodePeerRecord('not bytes' as unknown as Uint8Array)).code).toBe('malformed_peer_record')
  })

  test('arbitrary bytes are refused with a typed error, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 38, maxLength: 38 }), (bytes, peerId) => {
        const error = refusal(() => verifyPeerRecord(bytes, peerId))
        expect(['malformed_peer_record', 'peer_record_peer_mismatch', 'peer_record_signature']).toContain(error.code)
      }),
      { numRuns: 2000 },
    )
  })

  test('well-formed records with random signatures are refused, never a crash', async () => {
    const peerId = await newPeerId()
    const bytes = signPeerRecord(alice, peerId, SIGNED_AT)
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 65, maxLength: 65 }), (signature) => {
        const forged = Uint8Array.from(bytes)
        forged.set(signature, 29)
        expect(refusal(() => verifyPeerRecord(forged, peerId)).code).toBe('peer_record_signature')
      }),
      { numRuns: 500 },
    )
  })

  test('signing refuses an empty peer id or a bad time', () => {
    expect(refusal(() => signPeerRecord(alice, new Uint8Array(0), SIGNED_AT)).code).toBe('malformed_peer_record')
    expect(refusal(() => signPeerRecord(alice, new Uint8Array(38), -1)).code).toBe('malformed_peer_record')
    expect(refusal(() => signPeerRecord(alice, new Uint8Array(38), 1.5)).code).toBe('malformed_peer_record')
  })
})
