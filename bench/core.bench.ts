// Core throughput (issue 2): state hashing, signing and recovery on the native bindings beside
// @noble/curves in the same run, log appends with fsync per record and per 100-record batch, and the
// wire codec.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { secp256k1 as noble } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import type { Benchmark, BenchResult } from './harness.js'
import { opsPerSecond, round } from './harness.js'
import type { State } from '../src/core/state.js'
import { hashState } from '../src/core/hashState.js'
import { parsePrivateKey, recoverHashSigner, signHashWithKey } from '../src/core/signatures.js'
import { createSigner } from '../src/core/signer.js'
import { signBy, unsigned } from '../src/core/signedState.js'
import { decodeEnvelope, encodeEnvelope } from '../src/core/codec.js'
import { signedStateFromWire, signedStateToWire } from '../src/core/wire.js'
import { RocksStore } from '../src/store/rocksStore.js'
import { putEventOps } from '../src/store/eventStore.js'
import { EMPTY_HEAD, nextEvent } from '../src/log/channelLog.js'
import type { LogHead } from '../src/log/channelLog.js'
import { toAddress, toBytes32 } from '../src/core/canonical.js'

const aliceKey = '0xcaab404f975b4620747174a75f08d98b4e5a7053b691b41bcfc0d839d48b7634' as const
const bobKey = '0x62ecd49c4ccb41a70ad46532aed63cf815de15864bc415c87d507afd6a5e8da2' as const
const alice = createSigner(aliceKey)
const bob = createSigner(bobKey)

export const sampleState: State = {
  participants: [alice.address, bob.address],
  channelNonce: 37140676580n,
  appDefinition: toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d'),
  challengeDuration: 60,
  appData: '0x',
  outcome: [
    {
      asset: toAddress('0x0000000000000000000000000000000000000000'),
      assetMetadata: { assetType: 0, metadata: '0x' },
      allocations: [
        { destination: toBytes32(`0x000000000000000000000000${alice.address.slice(2)}`), amount: 5n, allocationType: 0, metadata: '0x' },
        { destination: toBytes32(`0x000000000000000000000000${bob.address.slice(2)}`), amount: 5n, allocationType: 0, metadata: '0x' },
      ],
    },
  ],
  turnNum: 5n,
  isFinal: false,
}

const PREFIX = Buffer.from('\x19Ethereum Signed Message:\n32', 'latin1')
const nobleDigest = (hash: string) => keccak_256(Buffer.concat([PREFIX, Buffer.from(hash.slice(2), 'hex')]))

async function logAppends(recordsPerBatch: number): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'channels-bench-'))
  const store = await RocksStore.open(dir)
  const id = `0x${'be'.repeat(32)}` as const
  const payload = new Uint8Array(200).fill(7) // about a signed state's size on the wire
  let head: LogHead = EMPTY_HEAD
  try {
    const batchesPerSecond = await opsPerSecond(async () => {
      const events = []
      for (let i = 0; i < recordsPerBatch; i++) {
        const event = nextEvent(head, { kind: 'state', payload, author: alice.address })
        events.push(event)
        head = event
      }
      await store.commit(putEventOps(toBytes32(id), events))
    })
    return batchesPerSecond * recordsPerBatch
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const benchmark: Benchmark = {
  estimate: 'DESIGN §8: hash ~25k/s, native sign ~24k/s vs noble ~2.4k/s (10x), recover ~15k/s vs ~0.8k/s, fsync batch ~0.2 ms',
  async run() {
    const hash = hashState(sampleState)
    const key = parsePrivateKey(aliceKey)
    const nobleKey = Uint8Array.from(key)
    const signature = signHashWithKey(hash, key)

    const hashes = await opsPerSecond(() => hashState(sampleState))
    const nativeSign = await opsPerSecond(() => signHashWithKey(hash, key))
    const nobleSign = await opsPerSecond(() => noble.sign(nobleDigest(hash), nobleKey, { prehash: false, format: 'recovered' }))
    const nativeRecover = await opsPerSecond(() => recoverHashSigner(hash, signature))
    const nobleSig = noble.sign(nobleDigest(hash), nobleKey, { prehash: false, format: 'recovered' })
    const nobleRecover = await opsPerSecond(() => {
      const pub = noble.recoverPublicKey(nobleSig, nobleDigest(hash), { prehash: false })
      return keccak_256(noble.Point.fromBytes(pub).toBytes(false).subarray(1)).subarray(12)
    })

    const signed = signBy(signBy(unsigned(sampleState), alice), bob)
    const message = encodeEnvelope('signedState', signedStateToWire(signed))
    const encodes = await opsPerSecond(() => encodeEnvelope('signedState', signedStateToWire(signed)))
    const decodes = await opsPerSecond(() => signedStateFromWire(decodeEnvelope(message).body))

    const perRecord = await logAppends(1)
    const perBatch = await logAppends(100)

    const results: BenchResult[] = [
      { name: 'state hashes', value: round(hashes), unit: 'ops/s' },
      { name: 'sign native', value: round(nativeSign), unit: 'ops/s' },
      { name: 'sign noble', value: round(nobleSign), unit: 'ops/s' },
      { name: 'sign native / noble', value: round(nativeSign / nobleSign, 1), unit: 'x' },
      { name: 'recover native', value: round(nativeRecover), unit: 'ops/s' },
      { name: 'recover noble', value: round(nobleRecover), unit: 'ops/s' },
      { name: 'recover native / noble', value: round(nativeRecover / nobleRecover, 1), unit: 'x' },
      { name: 'log append, fsync per record', value: round(perRecord), unit: 'records/s' },
      { name: 'log append, fsync per 100 records', value: round(perBatch), unit: 'records/s' },
      { name: 'codec encode signed state', value: round(encodes), unit: 'ops/s' },
      { name: 'codec decode+validate signed state', value: round(decodes), unit: 'ops/s' },
      { name: 'signed state wire size', value: message.length, unit: 'bytes' },
    ]
    return results
  },
}
export default benchmark
