import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, DEFAULTS, loadConfig } from './config.js'
import { DEFAULT_CONFIRMATIONS } from './chainConfig.js'
import { InsecureFileError } from './privateFile.js'

const dir = () => mkdtempSync(path.join(tmpdir(), 'config-'))
const ADDRESS = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
/** A chain other than the local one, fully configured. */
const REMOTE_CHAIN = {
  url: 'https://rpc.example.org',
  chainId: 10,
  adjudicator: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  consensusApp: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
  virtualPaymentApp: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
}

describe('loadConfig', () => {
  it('uses the defaults with an empty data dir', () => {
    const d = dir()
    const c = loadConfig(['--data-dir', d, '--chain-local'], {})
    expect(c.dataDir).toBe(d)
    expect(c.rpc).toEqual({ host: DEFAULTS.rpcHost, port: DEFAULTS.rpcPort })
    expect(c.p2p.listen).toEqual(DEFAULTS.listen)
    expect(c.p2p.bootstrap).toEqual([])
    expect(c.chain.url).toBe(DEFAULTS.chainUrl)
    expect(c.chain.local).toBe(true)
    expect(c.chain.confirmations).toBe(0)
    expect(c.channelKey).toEqual({ kind: 'generate' })
    expect(c.chainKey).toEqual({ kind: 'generate' })
  })

  it('takes flags over environment over the data dir config file', () => {
    const d = dir()
    writeFileSync(path.join(d, 'config.json'), JSON.stringify({ name: 'file', rpc: { port: 1111, host: '127.0.0.2' }, chain: { ...REMOTE_CHAIN, url: 'http://file:1', pollingIntervalMs: 7 }, logLevel: 'warn' }))
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
    const c = loadConfig(['--data-dir', d, '--chain-local', '--peer', `${other}=/ip4/127.0.0.1/tcp/2/p2p/b`, '--listen', '/ip4/127.0.0.1/tcp/9'], { CHANNELS_BOOTSTRAP: '/ip4/127.0.0.1/tcp/3/p2p/c,/ip4/127.0.0.1/tcp/4/p2p/d' })
    expect(c.p2p.bootstrap).toEqual(['/ip4/127.0.0.1/tcp/3/p2p/c', '/ip4/127.0.0.1/tcp/4/p2p/d'])
    expect(c.p2p.peers[ADDRESS]).toEqual(['/ip4/127.0.0.1/tcp/1/p2p/a'])
    expect(c.p2p.peers[other.toLowerCase()]).toEqual(['/ip4/127.0.0.1/tcp/2/p2p/b'])
    expect(c.p2p.listen).toEqual(['/ip4/127.0.0.1/tcp/9'])
  })

  it('imports keys as hex (from the environment) or keystore; a keystore needs its password from a file or the environment', () => {
    const d = dir()
    const local = ['--data-dir', d, '--chain-local']
    expect(loadConfig(local, { CHANNELS_CHANNEL_KEY: '0xab' }).channelKey).toEqual({ kind: 'hex', key: '0xab' })
    expect(() => loadConfig([...local, '--chain-keystore', 'k.json'], {})).toThrow(/--keystore-password-file.*CHANNELS_KEYSTORE_PASSWORD/)
    expect(loadConfig([...local, '--chain-keystore', 'k.json'], { CHANNELS_KEYSTORE_PASSWORD: 'pw' }).chainKey).toEqual({ kind: 'keystore', file: path.resolve('k.json'), password: 'pw' })
    expect(() => loadConfig([...local, '--chain-keystore', 'k.json'], { CHANNELS_KEYSTORE_PASSWORD: 'pw', CHANNELS_CHAIN_KEY: '0xab' })).toThrow(/not both/)
  })

  it('refuses a private key on the command line (ps shows it to every user) unless the operator opts in', () => {
    const d = dir()
    for (const flag of ['--channel-key', '--chain-key']) {
      let error: unknown
      try {
        loadConfig(['--data-dir', d, '--chain-local', flag, '0xab'], {})
      } catch (e) {
        error = e
      }
      expect(error, flag).toBeInstanceOf(ConfigError)
      const variable = flag === '--channel-key' ? 'CHANNELS_CHANNEL_KEY' : 'CHANNELS_CHAIN_KEY'
      expect((error as Error).message).toContain(`${flag} puts a private key on the command line`)
      expect((error as Error).message).toContain(variable)
      expect((error as Error).message).toContain('--insecure-key-on-command-line')
    }
    const c = loadConfig(['--data-dir', d, '--chain-local', '--channel-key', '0xab', '--insecure-key-on-command-line'], {})
    expect(c.channelKey).toEqual({ kind: 'hex', key: '0xab' })
  })

  it('reads the keystore password from a private file (flag, then environment, then config), before CHANNELS_KEYSTORE_PASSWORD', () => {
    const d = dir()
    const flagFile = path.join(d, 'flag.pw')
    const envFile = path.join(d, 'env.pw')
    const configFile = path.join(d, 'config.pw')
    for (const [file, text] of [[flagFile, 'from flag\n'], [envFile, 'from env file\r\n'], [configFile, ' spaced  ']] as const) writeFileSync(file, text, { mode: 0o600 })
    writeFileSync(path.join(d, 'config.json'), JSON.stringify({ keys: { channelKeystore: 'ks.json', keystorePasswordFile: configFile } }))
    const local = ['--data-dir', d, '--chain-local']
    const password = (argv: string[], env: NodeJS.ProcessEnv) => {
      const source = loadConfig([...local, ...argv], env).channelKey
      return source.kind === 'keystore' ? source.password : undefined
    }
    expect(password(['--keystore-password-file', flagFile], { CHANNELS_KEYSTORE_PASSWORD_FILE: envFile, CHANNELS_KEYSTORE_PASSWORD: 'env' })).toBe('from flag')
    expect(password([], { CHANNELS_KEYSTORE_PASSWORD_FILE: envFile, CHANNELS_KEYSTORE_PASSWORD: 'env' })).toBe('from env file')
    expect(password([], { CHANNELS_KEYSTORE_PASSWORD: 'env' })).toBe('env')
    expect(password([], {})).toBe(' spaced  ') // only a line break at the end is not the password's
    chmodSync(envFile, 0o640)
    expect(() => password([], { CHANNELS_KEYSTORE_PASSWORD_FILE: envFile })).toThrow(InsecureFileError)
    expect(() => password([], { CHANNELS_KEYSTORE_PASSWORD_FILE: envFile })).toThrow(`the keystore password file ${envFile} is accessible to other users (mode 0640); it holds a secret: run chmod 600 ${envFile}`)
  })

  it('refuses a config file holding a private key that other users can read', () => {
    const d = dir()
    const file = path.join(d, 'config.json')
    writeFileSync(file, JSON.stringify({ keys: { chainKey: `0x${'11'.repeat(32)}` } }), { mode: 0o644 })
    chmodSync(file, 0o644)
    expect(() => loadConfig(['--data-dir', d, '--chain-local'], {})).toThrow(/the config file \(it holds a private key\) .*config\.json is accessible to other users \(mode 0644\).*chmod 600/)
    chmodSync(file, 0o600)
    expect(loadConfig(['--data-dir', d, '--chain-local'], {}).chainKey).toEqual({ kind: 'hex', key: `0x${'11'.repeat(32)}` })
    writeFileSync(file, JSON.stringify({ name: 'no secrets here' }))
    chmodSync(file, 0o644)
    expect(loadConfig(['--data-dir', d, '--chain-local'], {}).name).toBe('no secrets here')
  })

  it('off the local chain: the chain id and every contract address must be configured; confirmations default to 12', () => {
    const d = dir()
    let error: unknown
    try {
      loadConfig(['--data-dir', d, '--chain-url', REMOTE_CHAIN.url, '--adjudicator', REMOTE_CHAIN.adjudicator], {})
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toMatch(/^chain\.consensusApp, chain\.virtualPaymentApp, chain\.chainId not configured: on a chain other than the embedded local one/)
    expect(() => loadConfig(['--data-dir', d], {})).toThrow(/chain\.adjudicator, chain\.consensusApp, chain\.virtualPaymentApp, chain\.chainId not configured/)
    writeFileSync(path.join(d, 'config.json'), JSON.stringify({ chain: REMOTE_CHAIN }))
    const c = loadConfig(['--data-dir', d], {})
    expect(c.chain).toMatchObject({ ...REMOTE_CHAIN, local: false, confirmations: DEFAULT_CONFIRMATIONS })
    expect(DEFAULT_CONFIRMATIONS).toBe(12)
    expect(loadConfig(['--data-dir', d, '--confirmations', '3'], {}).chain.confirmations).toBe(3)
    expect(loadConfig(['--data-dir', d], { CHANNELS_CONFIRMATIONS: '0' }).chain.confirmations).toBe(0)
  })

  it('the local chain is declared (--chain-local, CHANNELS_CHAIN_LOCAL, chain.local) and only over loopback', () => {
    const d = dir()
    expect(loadConfig(['--data-dir', d], { CHANNELS_CHAIN_LOCAL: 'true' }).chain.local).toBe(true)
    expect(loadConfig(['--data-dir', d, '--chain-local', '--chain-url', 'http://localhost:8545'], {}).chain.local).toBe(true)
    expect(loadConfig(['--data-dir', d, '--chain-local', '--chain-url', 'http://[::1]:8545'], {}).chain.local).toBe(true)
    expect(loadConfig(['--data-dir', d, '--chain-local', '--confirmations', '2'], {}).chain.confirmations).toBe(2)
    expect(() => loadConfig(['--data-dir', d, '--chain-local', '--chain-url', 'http://10.0.0.8:8545'], {})).toThrow(/chain\.local is set, but http:\/\/10\.0\.0\.8:8545 is not on this machine/)
    expect(() => loadConfig(['--data-dir', d, '--chain-local', '--chain-url', 'http://127.0.0.1.evil.example:8545'], {})).toThrow(ConfigError)
    expect(() => loadConfig(['--data-dir', d], { CHANNELS_CHAIN_LOCAL: 'yes' })).toThrow(/CHANNELS_CHAIN_LOCAL must be true or false/)
    writeFileSync(path.join(d, 'config.json'), JSON.stringify({ chain: { local: true } }))
    expect(loadConfig(['--data-dir', d], {}).chain).toMatchObject({ url: DEFAULTS.chainUrl, local: true, confirmations: 0 })
  })

  it('has no app rules by default: the node takes every app it runs, from anyone', () => {
    expect(loadConfig(['--data-dir', dir(), '--chain-local'], {}).apps).toEqual({})
  })

  it('reads the apps section from the file, environment and flags, each rule from its strongest source', () => {
    const d = dir()
    const other = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
    writeFileSync(path.join(d, 'config.json'), JSON.stringify({ apps: { accept: ['tictactoe'], peers: [ADDRESS], maxDeposit: '1000', funding: ['direct'] } }))
    expect(loadConfig(['--data-dir', d, '--chain-local'], {}).apps).toEqual({ accept: ['tictactoe'], peers: [ADDRESS], maxDeposit: 1000n, funding: ['direct'] })
    const env = { CHANNELS_APPS_ACCEPT: 'rps, dice', CHANNELS_APPS_PEERS: other, CHANNELS_APPS_MAX_DEPOSIT: '5', CHANNELS_APPS_FUNDING: 'none,ledger' }
    expect(loadConfig(['--data-dir', d, '--chain-local'], env).apps).toEqual({ accept: ['rps', 'dice'], peers: [other], maxDeposit: 5n, funding: ['none', 'ledger'] })
    const flags = ['--apps-accept', 'document', '--apps-accept', 'rps', '--apps-peer', ADDRESS, '--apps-max-deposit', '7', '--apps-funding', 'ledger']
    expect(loadConfig(['--data-dir', d, '--chain-local', ...flags], env).apps).toEqual({ accept: ['document', 'rps'], peers: [ADDRESS], maxDeposit: 7n, funding: ['ledger'] })
    expect(loadConfig(['--data-dir', d, '--chain-local', '--apps-max-deposit', (2n ** 256n - 1n).toString()], {}).apps.maxDeposit).toBe(2n ** 256n - 1n)
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
        loadConfig(['--data-dir', d, '--chain-local', ...argv], env)
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
