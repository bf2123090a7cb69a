// The self-check `npm start` runs before anything else: the native crypto bindings must reproduce DESIGN §3's
// conformance vector, agree with @noble/curves on this machine's key, and be the fast path actually in use.
import { performance } from 'node:perf_hooks'
import { secp256k1 as noble } from '@noble/curves/secp256k1.js'
import type { Hex } from '../core/types.js'
import { toAddress, toBytes32 } from '../core/canonical.js'
import type { State } from '../core/state.js'
import { channelId } from '../core/channelId.js'
import { hashState } from '../core/hashState.js'
import { signState, recoverStateSigner } from '../core/signState.js'
import { ethSignedMessageDigest, parsePrivateKey, privateKeyToAddress } from '../core/signatures.js'

// DESIGN §3's conformance vector.
const vector: State = {
  participants: [toAddress('0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43BD'), toAddress('0x760bf27cd45036a6C486802D30B5D90CfFBE31FE')],
  channelNonce: 37140676580n,
  appDefinition: toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d'),
  challengeDuration: 60,
  appData: '0x',
  outcome: [
    {
      asset: toAddress('0x0000000000000000000000000000000000000000'),
      assetMetadata: { assetType: 0, metadata: '0x' },
      allocations: [
        { destination: toBytes32('0x000000000000000000000000F5A1BB5607C9D079E46d1B3Dc33f257d937b43BD'), amount: 5n, allocationType: 0, metadata: '0x' },
        { destination: toBytes32('0x000000000000000000000000Ee18fF1575055691009aa246aE608132C57a422c'), amount: 5n, allocationType: 0, metadata: '0x' },
      ],
    },
  ],
  turnNum: 5n,
  isFinal: false,
}
const vectorKey: Hex = '0xcaab404f975b4620747174a75f08d98b4e5a7053b691b41bcfc0d839d48b7634'
const expectedSignature =
  '0x2873c05a6ecebca3d2fde93ea3332b4423bbd2a60a973ec61b8abfe16294f69e59ddb5b57c79924b57db6d928a0f3ef657c6e0e9879d2bf387364ace6d3284fd1b'

function check(name: string, ok: boolean, detail = ''): boolean {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `  (${detail})` : ''}`)
  return ok
}

/** Prints one line per check; true when all passed. */
export function selfCheck(key: Hex): boolean {
  const address = privateKeyToAddress(key)
  let ok = true
  ok &&= check('channel id matches the Nitro vector', channelId(vector) === toBytes32('0x3f9dfeabcc41d1618dd0711102018ab6c1a1d7c25111a425401c2e524eb073a2'))
  ok &&= check('state hash matches the Nitro vector', hashState(vector) === toBytes32('0x8e20f2e5f2cd3b3d4805eb3b98d2cf2945631042f4cb69fc629425dd28efe184'))
  ok &&= check('native signature matches the Nitro vector', signState(vector, vectorKey) === expectedSignature)

  const myState = { ...vector, participants: [address, vector.participants[1]!] }
  const mine = signState(myState, key)
  const reference = noble.sign(ethSignedMessageDigest(hashState(myState)), parsePrivateKey(key), { prehash: false, format: 'recovered' })
  const referenceHex = `0x${Buffer.from(reference.subarray(1)).toString('hex')}${(27 + reference[0]!).toString(16)}`
  ok &&= check('native signature equals @noble/curves on this node\'s key', mine === referenceHex)
  ok &&= check('signature recovers to this node\'s address', recoverStateSigner(myState, mine) === address)

  const iterations = 2000
  const hash = hashState(myState)
  let t = performance.now()
  for (let i = 0; i < iterations; i++) signState({ ...myState, turnNum: BigInt(i) }, key)
  const signRate = iterations / ((performance.now() - t) / 1000)
  t = performance.now()
  for (let i = 0; i < 200; i++) noble.sign(ethSignedMessageDigest(hash), parsePrivateKey(key), { prehash: false })
  const nobleRate = 200 / ((performance.now() - t) / 1000)
  check('native backend in use', signRate > nobleRate * 3, `hash+sign ${Math.round(signRate)}/s native vs sign ${Math.round(nobleRate)}/s noble`)
  return ok
}
