import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, DEFAULTS, loadConfig } from './config.js'

const dir = () => mkdtempSync(path.join(tmpdir(), 'config-'))
const ADDRESS = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'

describe('loadConfig', () => {
  it('uses the defaults with an empty data dir', () => {
    const d = dir()
    const c = loadConfig(['--data-dir', d], {})
    expect(c.dataDir).toBe(d)
    expect(c.rpc).toEqual({ host: DEFAULTS.rpcHost, port: DEFAULTS.rpcPort })
    expect(c.p2p.listen).toEqual(DEFAULTS.listen)
    expect(c.p2p.bootstrap).toEqual([])
    expect(c.chain.url).toBe(DEFAULTS.chainUrl)
    expect(c.channelKey).toEqual({ kind: 'generate' })
    expect(c.chainKey).toEqual({ kind: 'generate' })
  })

  it('takes flags over environment over the data dir config file', () => {
    const d = dir()
    writeFileSync(path.join(d, 'config.json'), JSON.stringify({ name: 'file', rpc: { port: 1111, host: '127.0.0.2' }, chain: { url: 'http://file:1', pollingIntervalMs: 7 }, logLevel: 'warn' }))
    const c = loadConfig(['--data-dir', d, '--rpc-port', '3333'], { CHANNELS_RPC_PORT: '2222', CHANNELS_CHAIN_URL: 'http://env:2', CHANNELS_NAME: 'env' })
    expect(c.rpc).toEqual({ host: '127.0.0.2', port: 3333 })
    expect(c.chain.url).toBe('http://env:2')
    expect(c.chain.pollingIntervalMs).toBe(7)
    expect(c.name).toBe('env')
    expect(c.logLevel).toBe('warn')
  })

  it('merges the address book from file, environment and repeated --peer flags', () => {
    const d = dir()
    writeFileSync(path.join(d, 'config.json'), JSON.stringify({ p2p: { peers: { [ADDRESS]: ['/ip4/127.0.0.1/tcp/1/p2p/a'] } } }))
    const other = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
    const c = loadConfig(['--data-dir', d, '--peer', `${other}=/ip4/127.0.0.1/tcp/2/p2p/b`, '--listen', '/ip4/127.0.0.1/tcp/9'], { CHANNELS_BOOTSTRAP: '/ip4/127.0.0.1/tcp/3/p2p/c,/ip4/127.0.0.1/tcp/4/p2p/d' })
    expect(c.p2p.bootstrap).toEqual(['/ip4/127.0.0.1/tcp/3/p2p/c', '/ip4/127.0.0.1/tcp/4/p2p/d'])
    expect(c.p2p.peers[ADDRESS]).toEqual(['/ip4/127.0.0.1/tcp/1/p2p/a'])
    expect(c.p2p.peers[other.toLowerCase()]).toEqual(['/ip4/127.0.0.1/tcp/2/p2p/b'])
    expect(c.p2p.listen).toEqual(['/ip4/127.0.0.1/tcp/9'])
  })

  it('imports keys as hex or keystore; a keystore needs its password from the environment', () => {
    const d = dir()
    expect(loadConfig(['--data-dir', d, '--channel-key', '0xab'], {}).channelKey).toEqual({ kind: 'hex', key: '0xab' })
    expect(() => loadConfig(['--data-dir', d, '--chain-keystore', 'k.json'], {})).toThrow(/CHANNELS_KEYSTORE_PASSWORD/)
    expect(loadConfig(['--data-dir', d, '--chain-keystore', 'k.json'], { CHANNELS_KEYSTORE_PASSWORD: 'pw' }).chainKey).toEqual({ kind: 'keystore', file: path.resolve('k.json'), password: 'pw' })
    expect(() => loadConfig(['--data-dir', d, '--chain-key', '0xab', '--chain-keystore', 'k.json'], { CHANNELS_KEYSTORE_PASSWORD: 'pw' })).toThrow(/not both/)
  })

  it('has no app rules by default: the node takes every app it runs, from anyone', () => {
    expect(loadConfig(['--data-dir', dir()], {}).apps).toEqual({})
  })

  it('reads the apps section from the file, environment and flags, each rule from its strongest source', () => {
    const d = dir()
    const other = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
    writeFileSync(path.join(d, 'config.json'), JSON.stringify({ apps: { accept: ['tictactoe'], peers: [ADDRESS], maxDeposit: '1000', funding: ['direct'] } }))
    expect(loadConfig(['--data-dir', d], {}).apps).toEqual({ accept: ['tictactoe'], peers: [ADDRESS], maxDeposit: 1000n, funding: ['direct'] })
    const env = { CHANNELS_APPS_ACCEPT: 'rps, dice', CHANNELS_APPS_PEERS: other, CHANNELS_APPS_MAX_DEPOSIT: '5', CHANNELS_APPS_FUNDING: 'none,ledger' }
    expect(loadConfig(['--data-dir', d], env).apps).toEqual({ accept: ['rps', 'dice'], peers: [other], maxDeposit: 5n, funding: ['none', 'ledger'] })
    const flags = ['--apps-accept', 'document', '--apps-accept', 'rps', '--apps-peer', ADDRESS, '--apps-max-deposit', '7', '--apps-funding', 'ledger']
    expect(loadConfig(['--data-dir', d, ...flags], env).apps).toEqual({ accept: ['document', 'rps'], peers: [ADDRESS], maxDeposit: 7n, funding: ['ledger'] })
    expect(loadConfig(['--data-dir', d, '--apps-max-deposit', (2n ** 256n - 1n).toString()], {}).apps.maxDeposit).toBe(2n ** 256n - 1n)
  })

  it('refuses bad input with a ConfigError that names the field', () => {
    const d = dir()
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['--rpc-port', 'eighty'], {}, /rpc-port/],
      [['--rpc-port', '70000'], {}, /rpc\.port/],
      [['--unknown-flag'], {}, /unknown/i],
      [['--peer', 'no-equals-sign'], {}, /<address>=<multiaddr>/],
      [['--peer', '0x12=/ip4/1.2.3.4/tcp/1'], {}, /p2p\.peers/],
      [['--log-level', 'loud'], {}, /logLevel/],
      [['--chain-url', 'not a url'], {}, /chain\.url/],
      [['--config', path.join(d, 'missing.json')], {}, /no config file/],
      [['--apps-peer', '0x12'], {}, /apps\.peers/],
      [[], { CHANNELS_APPS_PEERS: `${ADDRESS},nobody` }, /apps\.peers/],
      [['--apps-max-deposit', '1.5'], {}, /apps\.maxDeposit/],
      [['--apps-max-deposit=-1'], {}, /apps\.maxDeposit/],
      [[], { CHANNELS_APPS_MAX_DEPOSIT: '1e18' }, /apps\.maxDeposit/],
      [['--apps-max-deposit', (2n ** 256n).toString()], {}, /apps\.maxDeposit/],
      [['--apps-funding', 'virtual'], {}, /apps\.funding/],
      [[], { CHANNELS_APPS_FUNDING: 'direct,onchain' }, /apps\.funding/],
      [['--apps-accept', ''], {}, /apps\.accept/],
    ]
    for (const [argv, env, message] of cases) {
      let error: unknown
      try {
        loadConfig(['--data-dir', d, ...argv], env)
      } catch (e) {
        error = e
      }
      expect(error, argv.join(' ')).toBeInstanceOf(ConfigError)
      expect((error as Error).message, argv.join(' ')).toMatch(message)
    }
    writeFileSync(path.join(d, 'config.json'), '{ not json')
    expect(() => loadConfig(['--data-dir', d], {})).toThrow(/not valid JSON/)
    writeFileSync(path.join(d, 'config.json'), JSON.stringify({ rpc: { prot: 1 } }))
    expect(() => loadConfig(['--data-dir', d], {})).toThrow(ConfigError)
    writeFileSync(path.join(d, 'config.json'), JSON.stringify({ apps: { maxDeposit: 1000 } }))
    expect(() => loadConfig(['--data-dir', d], {})).toThrow(/apps\.maxDeposit/)
    writeFileSync(path.join(d, 'config.json'), JSON.stringify({ apps: { accept: 'tictactoe' } }))
    expect(() => loadConfig(['--data-dir', d], {})).toThrow(/apps\.accept/)
    writeFileSync(path.join(d, 'config.json'), JSON.stringify({ apps: { peer: [ADDRESS] } }))
    expect(() => loadConfig(['--data-dir', d], {})).toThrow(ConfigError)
  })
})
