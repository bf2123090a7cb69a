// Runs node daemons as child processes (for `npm start`, the multi-process tests and the network bench):
// prepares a data dir whose identity is known before the node starts (so peers' address books can name it),
// spawns `channels node`, waits until it has published node.json, and stops or kills it.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createRequire } from 'node:module'
import type { Address, Hex } from '../core/types.js'
import { OperatingError } from '../core/errors.js'
import { privateKeyToAddress } from '../core/signatures.js'
import type { ConfigFile, ConfigFileInput } from './config.js'
import { loadOrCreateKey, loadOrCreateSecret } from './keys.js'
import { loadOrCreatePeerKey, peerIdOf } from './peerIdentity.js'
import { NODE_INFO_FILE, SECRET_FILE } from './files.js'
import type { NodeInfoFile } from './node.js'

export class NodeLaunchError extends OperatingError {
  readonly code = 'node_launch'
}

export interface PreparedNode {
  readonly name: string
  readonly dataDir: string
  readonly address: Address
  readonly peerId: string
  readonly secret: string
}

/** Creates (or reads) a node's keys so its address and PeerId are known before it first runs. */
export async function prepareNode(p: { name: string; dataDir: string; chainKey?: Hex }): Promise<PreparedNode> {
  mkdirSync(p.dataDir, { recursive: true, mode: 0o700 })
  const channelKey = loadOrCreateKey(path.join(p.dataDir, 'channel.key'))
  loadOrCreateKey(path.join(p.dataDir, 'chain.key'), p.chainKey ? { kind: 'hex', key: p.chainKey } : { kind: 'generate' })
  const peerId = peerIdOf(await loadOrCreatePeerKey(path.join(p.dataDir, 'peer.key')))
  const secret = loadOrCreateSecret(path.join(p.dataDir, SECRET_FILE))
  return { name: p.name, dataDir: p.dataDir, address: privateKeyToAddress(channelKey), peerId, secret }
}

/** Writes `<data dir>/config.json` (the node reads it at start). */
export function writeNodeConfig(dataDir: string, config: ConfigFileInput): void {
  mkdirSync(dataDir, { recursive: true })
  writeFileSync(path.join(dataDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`)
}

export function readNodeConfig(dataDir: string): ConfigFile | undefined {
  const file = path.join(dataDir, 'config.json')
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ConfigFile) : undefined
}

/** A free TCP port on 127.0.0.1 right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** How to run `channels`: the compiled entry when running compiled, else the TypeScript one through tsx. */
export function channelsCommand(): string[] {
  const here = fileURLToPath(import.meta.url)
  if (here.endsWith('.js')) return [process.execPath, path.join(path.dirname(here), '..', 'cli', 'channels.js')]
  // tsx's loader by file URL (`--import tsx` would resolve from the cwd, which may be anywhere).
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
  return [process.execPath, '--import', tsx, path.join(path.dirname(here), '..', 'cli', 'channels.ts')]
}

export interface NodeProcess {
  readonly name: string
  readonly dataDir: string
  readonly info: NodeInfoFile
  readonly child: ChildProcess
  /** Resolves with the exit code once the process is gone. */
  readonly exited: Promise<number | null>
  /** SIGTERM (graceful: the outbox drains) and wait. */
  stop(): Promise<number | null>
  /** SIGKILL and wait: a crash. */
  kill(): Promise<void>
}

/** Spawns `channels node --data-dir <dir> ...args`, logs to `<dir>/node.log`, resolves once it is serving. */
export async function spawnNode(p: {
  name: string
  dataDir: string
  args?: readonly string[]
  env?: NodeJS.ProcessEnv
  readyTimeoutMs?: number
  /** Another program that takes `node <flags>` like `channels` (the network bench's instrumented node); it gets an IPC channel. */
  command?: readonly string[]
}): Promise<NodeProcess> {
  const [command, ...prefix] = p.command ?? channelsCommand()
  const logFile = path.join(p.dataDir, 'node.log')
  mkdirSync(p.dataDir, { recursive: true })
  const log = createWriteStream(logFile, { flags: 'a' })
  const child = spawn(command!, [...prefix, 'node', '--data-dir', p.dataDir, '--name', p.name, ...(p.args ?? [])], {
    env: { ...process.env, ...p.env },
    stdio: p.command ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.pipe(log)
  child.stderr!.pipe(log)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const infoFile = path.join(p.dataDir, NODE_INFO_FILE)
  const deadline = Date.now() + (p.readyTimeoutMs ?? 30_000)
  let info: NodeInfoFile | undefined
  let gone = false
  void exited.then(() => (gone = true))
  while (!info) {
    if (gone || Date.now() > deadline) {
      child.kill('SIGKILL')
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : ''
      throw new NodeLaunchError(`node ${p.name} ${gone ? 'exited' : 'did not start in time'}; its log ends:\n${tail}`, { name: p.name })
    }
    await new Promise((r) => setTimeout(r, 50))
    try {
      const candidate = JSON.parse(readFileSync(infoFile, 'utf8')) as NodeInfoFile
      if (candidate.pid === child.pid) info = candidate
    } catch {
      // not written yet (or a previous run's file mid-rewrite)
    }
  }
  return {
    name: p.name,
    dataDir: p.dataDir,
    info,
    child,
    exited,
    stop: async () => {
      if (!gone) child.kill('SIGTERM')
      return exited
    },
    kill: async () => {
      if (!gone) child.kill('SIGKILL')
      await exited
    },
  }
}
