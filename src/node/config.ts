// A node's configuration from three sources, strongest first: command-line flags, environment variables
// (CHANNELS_*), and a JSON config file (`--config`, else `<data dir>/config.json` when present); then the
// defaults. The merged result is validated once here, so the daemon only ever sees a well-formed config.
// Funds safety (issue 13; docs/security.md): off the embedded local chain every contract
// address and the chain id must be configured (chainConfig.ts says how the local chain is recognised); a
// private key is never taken from the command line, where every local user can read it (ps), unless the
// operator opts in; a keystore password comes from a file or the environment; a file holding a secret
// must be private to its owner.
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import type { Address } from '../core/types.js'
import { RejectedInputError } from '../core/errors.js'
import { MAX_UINT256 } from '../core/limits.js'
import { FUNDING_MODES } from '../protocols/app/appData.js'
import type { FundingMode } from '../protocols/app/appData.js'
import type { KeySource } from './keys.js'
import { readPasswordFile } from './keys.js'
import { checkPrivateFile } from './privateFile.js'
import { DEFAULT_CONFIRMATIONS, isLoopbackUrl, missingContracts } from './chainConfig.js'
import type { PeerPolicy } from '../engine/policy.js'
import { REFUSE_UNSOLICITED } from '../engine/policy.js'
import { isAddress } from 'viem'
import { toAddress } from '../core/canonical.js'

export class ConfigError extends RejectedInputError {
  readonly code = 'config'
}

const addressText = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'an address is 0x and 40 hex digits')
  .refine((s) => isAddress(s), 'has an invalid EIP-55 checksum (use all lowercase or the checksummed form)')
const address = addressText.transform(toAddress)
const port = z.number().int().min(0).max(65_535)
/** Wei as a decimal string: JSON numbers lose precision above 2^53. */
const wei = z
  .string()
  .regex(/^\d{1,78}$/, 'an amount is a whole number of wei in decimal')
  // zod runs every check, so this one must not call BigInt on what the regex refused.
  .refine((value) => !/^\d+$/.test(value) || BigInt(value) <= MAX_UINT256, 'an amount is below 2^256')

/** The config file's shape (every field optional); also what the merged config is checked against. */
export const configFileSchema = z
  .object({
    name: z.string().min(1).max(64),
    dataDir: z.string().min(1),
    rpc: z.object({ host: z.string().min(1), port }).partial().strict(),
    p2p: z
      .object({
        listen: z.array(z.string().startsWith('/')),
        /** The address book: Ethereum address → multiaddrs ending in /p2p/<peer id>. */
        peers: z.record(addressText, z.array(z.string().startsWith('/'))),
        /** Multiaddrs of peers whose address is learnt when they answer (they join the address book). */
        bootstrap: z.array(z.string().startsWith('/')),
      })
      .partial()
      .strict(),
    chain: z
      .object({
        url: z.string().url(),
        /** This is the embedded local chain (chainConfig.ts): contract addresses may default, confirmations default to 0. */
        local: z.boolean(),
        chainId: z.number().int().positive(),
        adjudicator: address,
        consensusApp: address,
        virtualPaymentApp: address,
        confirmations: z.number().int().min(0).max(64),
        pollingIntervalMs: z.number().int().min(1).max(60_000),
      })
      .partial()
      .strict(),
    keys: z
      .object({
        channelKey: z.string(),
        chainKey: z.string(),
        channelKeystore: z.string(),
        chainKeystore: z.string(),
        /** The keystores' password, in a file private to its owner. */
        keystorePasswordFile: z.string(),
      })
      .partial()
      .strict(),
    /** Which app channels peers may open with this node (src/node/appPolicy.ts); each absent rule allows all. */
    apps: z
      .object({
        /** App names from apps/build/manifest.json or 0x appIds; checked against the registry at start. */
        accept: z.array(z.string().min(1)),
        /** Only these peers may open app channels with this node. */
        peers: z.array(address),
        /** Refuse a channel in which any one deposit is larger. */
        maxDeposit: wei,
        funding: z.array(z.enum(FUNDING_MODES as [FundingMode, ...FundingMode[]])),
      })
      .partial()
      .strict(),
    /** What peers may start with this node: ledgers, intermediary roles (src/engine/policy.ts). Absent: refuse all. */
    policy: z
      .object({
        /** 'any', or the peers (addresses) whose objectives this node accepts. */
        peers: z.union([z.literal('any'), z.array(address)]),
        assets: z.union([z.literal('any'), z.array(address)]),
        maxPerChannel: wei,
        maxPerPeer: wei,
        challengeDurationMinSec: z.number().int().min(0).max(2 ** 32),
        challengeDurationMaxSec: z.number().int().min(1).max(2 ** 32),
      })
      .partial()
      .strict(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    shutdownTimeoutMs: z.number().int().min(0).max(600_000),
    /** How long an objective may wait on its peers before the node settles its channel on chain; 0: never by itself. */
    stallTimeoutSec: z.number().int().min(0).max(2 ** 32),
  })
  .partial()
  .strict()
export type ConfigFile = z.infer<typeof configFileSchema>
/** What a config file holds as written (addresses in any valid case; `ConfigFile` has them canonical). */
export type ConfigFileInput = z.input<typeof configFileSchema>

export interface NodeConfig {
  readonly name: string
  readonly dataDir: string
  readonly rpc: { readonly host: string; readonly port: number }
  readonly p2p: { readonly listen: readonly string[]; readonly peers: Readonly<Record<string, readonly string[]>>; readonly bootstrap: readonly string[] }
  readonly chain: {
    readonly url: string
    /** The embedded local chain (chainConfig.ts); otherwise chainId and the three addresses are set. */
    readonly local: boolean
    readonly chainId?: number
    readonly adjudicator?: Address
    readonly consensusApp?: Address
    readonly virtualPaymentApp?: Address
    readonly confirmations: number
    readonly pollingIntervalMs: number
  }
  readonly channelKey: KeySource
  readonly chainKey: KeySource
  /** The operator's rules for app channels peers open (src/node/appPolicy.ts); an absent rule allows all. */
  readonly apps: AppsConfig
  /** What peers may start with this node (src/engine/policy.ts). */
  readonly policy: PeerPolicy
  readonly logLevel: string
  /** How long a graceful shutdown waits for the outbox to drain (peers to acknowledge) before closing anyway. */
  readonly shutdownTimeoutMs: number
  /** How long an objective may wait on its peers before the node settles its channel on chain (0: never by itself). */
  readonly stallTimeoutSec: number
}

/** An empty list allows nothing: `accept: []` refuses every app channel. */
export interface AppsConfig {
  readonly accept?: readonly string[]
  readonly peers?: readonly Address[]
  readonly maxDeposit?: bigint
  readonly funding?: readonly FundingMode[]
}

export const DEFAULTS = {
  rpcHost: '127.0.0.1',
  rpcPort: 4_000,
  listen: ['/ip4/127.0.0.1/tcp/0'],
  chainUrl: 'http://127.0.0.1:8545',
  pollingIntervalMs: 500,
  logLevel: 'info',
  shutdownTimeoutMs: 5_000,
  /** A quarter of an hour: far beyond a round trip, far within the shortest challenge duration worth having. */
  stallTimeoutSec: 900,
} as const

export const NODE_FLAGS = {
  config: { type: 'string' },
  name: { type: 'string' },
  'data-dir': { type: 'string' },
  'rpc-host': { type: 'string' },
  'rpc-port': { type: 'string' },
  listen: { type: 'string', multiple: true },
  peer: { type: 'string', multiple: true },
  bootstrap: { type: 'string', multiple: true },
  'chain-url': { type: 'string' },
  'stall-timeout': { type: 'string' },
  'chain-id': { type: 'string' },
  'chain-local': { type: 'boolean' },
  confirmations: { type: 'string' },
  adjudicator: { type: 'string' },
  'consensus-app': { type: 'string' },
  'virtual-payment-app': { type: 'string' },
  'channel-key': { type: 'string' },
  'chain-key': { type: 'string' },
  'channel-keystore': { type: 'string' },
  'chain-keystore': { type: 'string' },
  'keystore-password-file': { type: 'string' },
  'insecure-key-on-command-line': { type: 'boolean' },
  'apps-accept': { type: 'string', multiple: true },
  'apps-peer': { type: 'string', multiple: true },
  'apps-max-deposit': { type: 'string' },
  'apps-funding': { type: 'string', multiple: true },
  'accept-peer': { type: 'string', multiple: true },
  'accept-asset': { type: 'string', multiple: true },
  'max-per-channel': { type: 'string' },
  'max-per-peer': { type: 'string' },
  'log-level': { type: 'string' },
} as const

/** Merges flags, environment and config file over the defaults; throws ConfigError naming the bad field. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): NodeConfig {
  let flags: ReturnType<typeof parseArgs<{ options: typeof NODE_FLAGS; args: string[]; strict: true; allowPositionals: false }>>['values']
  try {
    flags = parseArgs({ args: [...argv], options: NODE_FLAGS, strict: true, allowPositionals: false }).values
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error))
  }
  const dataDirGuess = path.resolve(flags['data-dir'] ?? env.CHANNELS_DATA_DIR ?? 'data')
  const configPath = flags.config ?? env.CHANNELS_CONFIG ?? path.join(dataDirGuess, 'config.json')
  const file = readConfigFile(configPath, flags.config !== undefined || env.CHANNELS_CONFIG !== undefined)
  if (file.keys?.channelKey !== undefined || file.keys?.chainKey !== undefined) checkPrivateFile(configPath, 'the config file (it holds a private key)')
  refuseKeysOnCommandLine(flags)

  const num = (value: string | undefined, field: string): number | undefined => {
    if (value === undefined) return undefined
    if (!/^\d+$/.test(value)) throw new ConfigError(`${field} must be a whole number`, { field, value })
    return Number(value)
  }
  const list = (value: string | undefined) => value?.split(',').map((s) => s.trim()).filter(Boolean)
  const peers: Record<string, string[]> = { ...(file.p2p?.peers ?? {}) }
  for (const entry of [...(list(env.CHANNELS_PEERS) ?? []), ...(flags.peer ?? [])]) {
    const at = entry.indexOf('=')
    if (at < 0) throw new ConfigError('a peer is given as <address>=<multiaddr>', { value: entry })
    const who = entry.slice(0, at).toLowerCase()
    peers[who] = [...(peers[who] ?? []), entry.slice(at + 1)]
  }

  const merged: ConfigFileInput = {
    name: flags.name ?? env.CHANNELS_NAME ?? file.name ?? 'node',
    dataDir: path.resolve(flags['data-dir'] ?? env.CHANNELS_DATA_DIR ?? file.dataDir ?? 'data'),
    rpc: {
      host: flags['rpc-host'] ?? env.CHANNELS_RPC_HOST ?? file.rpc?.host ?? DEFAULTS.rpcHost,
      port: num(flags['rpc-port'], 'rpc-port') ?? num(env.CHANNELS_RPC_PORT, 'CHANNELS_RPC_PORT') ?? file.rpc?.port ?? DEFAULTS.rpcPort,
    },
    p2p: {
      listen: flags.listen ?? list(env.CHANNELS_LISTEN) ?? file.p2p?.listen ?? [...DEFAULTS.listen],
      peers,
      bootstrap: flags.bootstrap ?? list(env.CHANNELS_BOOTSTRAP) ?? file.p2p?.bootstrap ?? [],
    },
    chain: {
      ...file.chain,
      url: flags['chain-url'] ?? env.CHANNELS_CHAIN_URL ?? file.chain?.url ?? DEFAULTS.chainUrl,
      ...defined({
        chainId: num(flags['chain-id'], 'chain-id') ?? num(env.CHANNELS_CHAIN_ID, 'CHANNELS_CHAIN_ID'),
        local: flags['chain-local'] ?? bool(env.CHANNELS_CHAIN_LOCAL, 'CHANNELS_CHAIN_LOCAL'),
        confirmations: num(flags.confirmations, 'confirmations') ?? num(env.CHANNELS_CONFIRMATIONS, 'CHANNELS_CONFIRMATIONS'),
        adjudicator: flags.adjudicator ?? env.CHANNELS_ADJUDICATOR,
        consensusApp: flags['consensus-app'] ?? env.CHANNELS_CONSENSUS_APP,
        virtualPaymentApp: flags['virtual-payment-app'] ?? env.CHANNELS_VIRTUAL_PAYMENT_APP,
      }),
    },
    keys: {
      ...file.keys,
      ...defined({
        channelKey: flags['channel-key'] ?? env.CHANNELS_CHANNEL_KEY,
        chainKey: flags['chain-key'] ?? env.CHANNELS_CHAIN_KEY,
        channelKeystore: flags['channel-keystore'] ?? env.CHANNELS_CHANNEL_KEYSTORE,
        chainKeystore: flags['chain-keystore'] ?? env.CHANNELS_CHAIN_KEYSTORE,
      }),
    },
    apps: {
      ...file.apps,
      ...defined({
        accept: flags['apps-accept'] ?? list(env.CHANNELS_APPS_ACCEPT),
        peers: flags['apps-peer'] ?? list(env.CHANNELS_APPS_PEERS),
        maxDeposit: flags['apps-max-deposit'] ?? env.CHANNELS_APPS_MAX_DEPOSIT,
        funding: (flags['apps-funding'] ?? list(env.CHANNELS_APPS_FUNDING)) as FundingMode[] | undefined,
      }),
    },
    policy: {
      ...file.policy,
      ...defined({
        peers: anyOrList(flags['accept-peer'] ?? list(env.CHANNELS_ACCEPT_PEERS)),
        assets: anyOrList(flags['accept-asset'] ?? list(env.CHANNELS_ACCEPT_ASSETS)),
        maxPerChannel: flags['max-per-channel'] ?? env.CHANNELS_MAX_PER_CHANNEL,
        maxPerPeer: flags['max-per-peer'] ?? env.CHANNELS_MAX_PER_PEER,
      }),
    },
    logLevel: (flags['log-level'] ?? env.CHANNELS_LOG_LEVEL ?? file.logLevel ?? DEFAULTS.logLevel) as ConfigFile['logLevel'],
    shutdownTimeoutMs: file.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs,
    stallTimeoutSec: num(flags['stall-timeout'], 'stall-timeout') ?? num(env.CHANNELS_STALL_TIMEOUT, 'CHANNELS_STALL_TIMEOUT') ?? file.stallTimeoutSec ?? DEFAULTS.stallTimeoutSec,
  }
  const checked = check(merged, 'the merged configuration')
  const chain = chainFrom(checked.chain!)
  let password: string | undefined
  const keystorePassword = (): string =>
    (password ??= passwordFrom({ file: flags['keystore-password-file'] ?? env.CHANNELS_KEYSTORE_PASSWORD_FILE, password: env.CHANNELS_KEYSTORE_PASSWORD, configFile: checked.keys?.keystorePasswordFile }))
  const keySource = (hex: string | undefined, keystore: string | undefined): KeySource => {
    if (hex !== undefined && keystore !== undefined) throw new ConfigError('give a key as hex or as a keystore, not both')
    if (hex !== undefined) return { kind: 'hex', key: hex }
    if (keystore !== undefined) return { kind: 'keystore', file: path.resolve(keystore), password: keystorePassword() }
    return { kind: 'generate' }
  }
  return {
    name: checked.name!,
    dataDir: checked.dataDir!,
    rpc: { host: checked.rpc!.host!, port: checked.rpc!.port! },
    p2p: { listen: checked.p2p!.listen!, peers: checked.p2p!.peers!, bootstrap: checked.p2p!.bootstrap! },
    chain,
    channelKey: keySource(checked.keys?.channelKey, checked.keys?.channelKeystore),
    chainKey: keySource(checked.keys?.chainKey, checked.keys?.chainKeystore),
    apps: {
      ...defined({ accept: checked.apps?.accept, peers: checked.apps?.peers, funding: checked.apps?.funding }),
      ...(checked.apps?.maxDeposit === undefined ? {} : { maxDeposit: BigInt(checked.apps.maxDeposit) }),
    },
    policy: policyFrom(checked.policy ?? {}),
    logLevel: checked.logLevel!,
    shutdownTimeoutMs: checked.shutdownTimeoutMs!,
    stallTimeoutSec: checked.stallTimeoutSec!,
  }
}

/**
 * The chain settings: on the embedded local chain (`local`, only over loopback) the contract addresses may
 * default to the deterministic deployment and confirmations default to 0; on any other chain the chain id
 * and every contract address must be given, and confirmations default to DEFAULT_CONFIRMATIONS.
 */
function chainFrom(c: NonNullable<ConfigFile['chain']>): NodeConfig['chain'] {
  const local = c.local ?? false
  const url = c.url!
  if (local && !isLoopbackUrl(url)) {
    throw new ConfigError(`chain.local is set, but ${url} is not on this machine: the embedded local chain is reached over loopback (127.0.0.1, ::1, localhost)`, { field: 'chain.local' })
  }
  if (!local) {
    const missing = [...missingContracts(c as NodeConfig['chain']), ...(c.chainId === undefined ? ['chainId'] : [])].map((name) => `chain.${name}`)
    if (missing.length > 0) {
      throw new ConfigError(
        `${missing.join(', ')} not configured: on a chain other than the embedded local one the chain id and every contract address must be given (--chain-id, --adjudicator, --consensus-app, --virtual-payment-app or config.json), never assumed; for the local chain set chain.local (--chain-local)`,
        { field: missing[0]!, missing },
      )
    }
  }
  return {
    ...c,
    url,
    local,
    confirmations: c.confirmations ?? (local ? 0 : DEFAULT_CONFIRMATIONS),
    pollingIntervalMs: c.pollingIntervalMs ?? DEFAULTS.pollingIntervalMs,
  } as NodeConfig['chain']
}

/** Hex keys are never taken from the command line (every local user can read it: ps, /proc/<pid>/cmdline) unless the operator opts in. */
function refuseKeysOnCommandLine(flags: { 'channel-key'?: string; 'chain-key'?: string; 'insecure-key-on-command-line'?: boolean }): void {
  if (flags['insecure-key-on-command-line'] === true) return
  for (const [flag, variable] of [['channel-key', 'CHANNELS_CHANNEL_KEY'], ['chain-key', 'CHANNELS_CHAIN_KEY']] as const) {
    if (flags[flag] === undefined) continue
    throw new ConfigError(
      `--${flag} puts a private key on the command line, where every user of this machine can read it (ps, /proc/<pid>/cmdline): give it in ${variable}, as a keystore (--${flag}store with --keystore-password-file), or accept the risk with --insecure-key-on-command-line`,
      { field: flag },
    )
  }
}

/**
 * The keystores' password (one for both keys), strongest source first: a file named by
 * --keystore-password-file or CHANNELS_KEYSTORE_PASSWORD_FILE, then CHANNELS_KEYSTORE_PASSWORD, then the
 * config file's keys.keystorePasswordFile. A password file must be private to its owner.
 */
function passwordFrom(p: { file: string | undefined; password: string | undefined; configFile: string | undefined }): string {
  if (p.file !== undefined) return readPasswordFile(path.resolve(p.file))
  if (p.password !== undefined) return p.password
  if (p.configFile !== undefined) return readPasswordFile(path.resolve(p.configFile))
  throw new ConfigError('a keystore needs its password: --keystore-password-file <file> (or CHANNELS_KEYSTORE_PASSWORD_FILE, keys.keystorePasswordFile), or CHANNELS_KEYSTORE_PASSWORD', { field: 'keys.keystorePasswordFile' })
}

/** `true`/`1` or `false`/`0`, as an environment variable gives a switch. */
function bool(value: string | undefined, field: string): boolean | undefined {
  if (value === undefined) return undefined
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw new ConfigError(`${field} must be true or false`, { field, value })
}

/** `any` alone means any; otherwise a list of addresses. */
function anyOrList(values: readonly string[] | undefined): 'any' | string[] | undefined {
  if (values === undefined) return undefined
  return values.length === 1 && values[0] === 'any' ? 'any' : [...values]
}

/**
 * The engine's policy from the config: nothing configured refuses everything peers start (REFUSE_UNSOLICITED);
 * peers listed (or 'any') are accepted up to the amounts given, unlimited where none is given — naming a peer
 * is the operator's decision to trust it that far.
 */
function policyFrom(p: NonNullable<ConfigFile['policy']>): PeerPolicy {
  const base = p.peers === undefined ? REFUSE_UNSOLICITED : { ...REFUSE_UNSOLICITED, maxPerChannel: MAX_UINT256, maxPerPeer: MAX_UINT256 }
  const challengeDurationSec = { min: p.challengeDurationMinSec ?? base.challengeDurationSec.min, max: p.challengeDurationMaxSec ?? base.challengeDurationSec.max }
  if (challengeDurationSec.min > challengeDurationSec.max) throw new ConfigError('policy: challengeDurationMinSec is above challengeDurationMaxSec', { field: 'policy' })
  return {
    peers: p.peers === undefined ? base.peers : p.peers === 'any' ? 'any' : p.peers,
    assets: p.assets === undefined ? base.assets : p.assets === 'any' ? 'any' : p.assets,
    maxPerChannel: p.maxPerChannel === undefined ? base.maxPerChannel : BigInt(p.maxPerChannel),
    maxPerPeer: p.maxPerPeer === undefined ? base.maxPerPeer : BigInt(p.maxPerPeer),
    challengeDurationSec,
  }
}

function readConfigFile(file: string, required: boolean): ConfigFile {
  if (!existsSync(file)) {
    if (required) throw new ConfigError(`no config file at ${file}`, { file })
    return {}
  }
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new ConfigError(`the config file ${file} is not valid JSON`, { file }, { cause: error })
  }
  return check(json, `the config file ${file}`)
}

function check(value: unknown, where: string): ConfigFile {
  const result = configFileSchema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  const field = issue.path.join('.')
  throw new ConfigError(`${where}: ${field ? field + ': ' : ''}${issue.message}`, { field })
}

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
