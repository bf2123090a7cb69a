// The built package is importable by name from another project: `npm run build` writes dist/, and the
// package's `exports` point there.
import { expect, test } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

test('a consumer project imports hashState and friends from the built package', () => {
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'pipe' })
  const consumer = mkdtempSync(path.join(tmpdir(), 'channels-consumer-'))
  try {
    mkdirSync(path.join(consumer, 'node_modules'))
    symlinkSync(path.resolve('.'), path.join(consumer, 'node_modules', 'channels'), 'dir')
    writeFileSync(path.join(consumer, 'package.json'), '{"type":"module"}')
    writeFileSync(
      path.join(consumer, 'main.js'),
      `import { hashState, channelId, signState, recoverStateSigner, encodeOutcome, decodeOutcome, hashVoucher } from 'channels'
       const state = { participants: ['0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43BD', '0x760bf27cd45036a6C486802D30B5D90CfFBE31FE'],
         channelNonce: 37140676580n, appDefinition: '0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d', challengeDuration: 60, appData: '0x',
         outcome: [{ asset: '0x0000000000000000000000000000000000000000', assetMetadata: { assetType: 0, metadata: '0x' }, allocations: [
           { destination: '0x000000000000000000000000F5A1BB5607C9D079E46d1B3Dc33f257d937b43BD', amount: 5n, allocationType: 0, metadata: '0x' },
           { destination: '0x000000000000000000000000Ee18fF1575055691009aa246aE608132C57a422c', amount: 5n, allocationType: 0, metadata: '0x' }] }],
         turnNum: 5n, isFinal: false }
       console.log(JSON.stringify({ id: channelId(state), hash: hashState(state), fns: [signState, recoverStateSigner, encodeOutcome, decodeOutcome, hashVoucher].map((f) => typeof f) }))`,
    )
    const out = JSON.parse(execFileSync(process.execPath, ['main.js'], { cwd: consumer, encoding: 'utf8' }))
    expect(out.id).toBe('0x3f9dfeabcc41d1618dd0711102018ab6c1a1d7c25111a425401c2e524eb073a2')
    expect(out.hash).toBe('0x8e20f2e5f2cd3b3d4805eb3b98d2cf2945631042f4cb69fc629425dd28efe184')
    expect(out.fns).toEqual(Array(5).fill('function'))
  } finally {
    rmSync(consumer, { recursive: true, force: true })
  }
}, 120_000)
