// The operator's app policy (appPolicy.ts): each rule of the config's `apps` section accepts what it names
// and refuses the rest; a rule left out allows all; an app the node does not run is a ConfigError at start.
import { describe, expect, test } from 'vitest'
import type { Address, Bytes32 } from '../core/types.js'
import type { AppDefinition } from '../protocols/app/appData.js'
import { appPolicyFrom } from './appPolicy.js'
import type { AppsConfig } from './config.js'
import { ConfigError } from './config.js'
import { toAddress } from '../core/canonical.js'

const TICTACTOE = `0x${'11'.repeat(32)}` as Bytes32
const RPS = `0x${'2a'.repeat(32)}` as Bytes32
const registry = { names: new Map<string, Bytes32>([['tictactoe', TICTACTOE], ['rps', RPS]]) }
const alice = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as Address
const bob = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' as Address

function definition(overrides: Partial<AppDefinition> = {}): AppDefinition {
  return {
    fixed: { participants: [alice, bob], channelNonce: 1n, appDefinition: toAddress(`0x${'00'.repeat(20)}`), challengeDuration: 60 },
    appId: TICTACTOE,
    params: Uint8Array.of(2),
    asset: toAddress(`0x${'00'.repeat(20)}`),
    deposits: [10n, 10n],
    funding: 'direct',
    ...overrides,
  }
}

const policy = (apps: AppsConfig) => appPolicyFrom({ apps }, registry)

describe('appPolicyFrom', () => {
  test('with no rules accepts every app channel from anyone', () => {
    expect(policy({})(definition({ appId: RPS, deposits: [2n ** 255n, 0n], funding: 'ledger' }), bob)).toBe(true)
  })

  test.each<[string, AppsConfig, Partial<AppDefinition>, Address, boolean]>([
    ['accept by name: listed app', { accept: ['tictactoe'] }, {}, alice, true],
    ['accept by name: other app', { accept: ['tictactoe'] }, { appId: RPS }, alice, false],
    ['accept by appId in any case', { accept: [RPS.toUpperCase().replace('0X', '0x')] }, { appId: RPS }, alice, true],
    ['accept by appId: other app', { accept: [RPS] }, {}, alice, false],
    ['accept nothing', { accept: [] }, {}, alice, false],
    ['peers: listed opener', { peers: [alice] }, {}, alice, true],
    ['peers: unlisted opener', { peers: [alice] }, {}, bob, false],
    ['maxDeposit: every deposit at the limit', { maxDeposit: 10n }, {}, alice, true],
    ['maxDeposit: one deposit above', { maxDeposit: 10n }, { deposits: [10n, 11n] }, alice, false],
    ['maxDeposit 0 with nothing deposited', { maxDeposit: 0n }, { deposits: [0n, 0n], funding: 'none' }, alice, true],
    ['funding: listed mode', { funding: ['direct', 'ledger'] }, {}, alice, true],
    ['funding: unlisted mode', { funding: ['ledger'] }, {}, alice, false],
    ['funding: absent counts as none', { funding: ['none'] }, { funding: undefined }, alice, true],
    ['funding: absent is not direct', { funding: ['direct'] }, { funding: undefined }, alice, false],
    ['all rules pass', { accept: ['tictactoe'], peers: [bob], maxDeposit: 10n, funding: ['direct'] }, {}, bob, true],
    ['all rules but one pass', { accept: ['tictactoe'], peers: [bob], maxDeposit: 9n, funding: ['direct'] }, {}, bob, false],
  ])('%s', (_name, apps, overrides, from, accepted) => {
    expect(policy(apps)(definition(overrides), from)).toBe(accepted)
  })

  test.each([['chess'], ['TicTacToe'], [`0x${'33'.repeat(32)}`], ['0x1234']])('refuses to start with apps.accept naming %s, which the node does not run', (entry) => {
    let error: unknown
    try {
      policy({ accept: ['rps', entry] })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toMatch(/apps\.accept/)
    expect((error as ConfigError).details).toEqual({ field: 'apps.accept', value: entry })
  })
})
