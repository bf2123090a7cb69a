// Starts and stops a local anvil chain (DESIGN §6, §9): the embedded default chain of `npm start` and the
// chain of every on-chain test. The binary ships inside the npm package `@foundry-rs/anvil-linux-amd64`
// (an optional dependency: the wrapper `@foundry-rs/anvil` is left out because its other-platform packages
// are missing from our registry mirror); ANVIL_PATH points at any other anvil binary.
//
// Readiness is what anvil prints (`Listening on 127.0.0.1:PORT`, which also gives the port when we asked
// for port 0) followed by a JSON-RPC `eth_chainId` that answers with the chain id we asked for, all within
// a bounded time. Clients talk HTTP: anvil's WebSocket stalled ~40 ms on some calls (DESIGN §9).
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { accessSync, constants as fsConstants, createWriteStream, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { OperatingError } from '../core/errors.js'

export interface AnvilOptions {
  /** TCP port on 127.0.0.1; 0 (the default) lets the system pick a free one. */
  readonly port?: number
  /** Keeps the chain in `<stateDir>/anvil-state.json` (anvil's --state): loaded at start, written at stop. */
  readonly stateDir?: string
  /** Also write the state every this many seconds, so a crash loses at most that much (anvil's --state-interval). */
  readonly stateIntervalSec?: number
  /** Interval mining (whole seconds, anvil's --block-time); by default every transaction mines a block. */
  readonly blockTimeSec?: number
  readonly chainId?: number
  /** Funded dev accounts, derived from `mnemonic` (anvil's default: "test test … junk"). */
  readonly accounts?: number
  readonly mnemonic?: string
  /** Appends anvil's output to this file; by default it is read and discarded. */
  readonly logFile?: string
  /** How long anvil may take to answer JSON-RPC; it is ready in ~0.1 s (DESIGN §9). */
  readonly readyTimeoutMs?: number
  /** The anvil binary; default ANVIL_PATH, then the npm package. */
  readonly binary?: string
}

export interface Anvil {
  /** The JSON-RPC endpoint, http://127.0.0.1:PORT. */
  readonly url: string
  readonly port: number
  readonly chainId: number
  readonly process: ChildProcess
  /** Ends anvil (SIGTERM, so it writes --state; SIGKILL if it lingers) and resolves once it exited. */
  stop(): Promise<void>
}

/** No anvil binary where we looked (ANVIL_PATH, the optional npm package). */
export class AnvilNotFoundError extends OperatingError {
  readonly code = 'anvil_not_found'
}
/** anvil did not come up: it exited, did not answer in time, or answered with another chain id. */
export class AnvilStartError extends OperatingError {
  readonly code = 'anvil_start'
}

export const ANVIL_PACKAGE = '@foundry-rs/anvil-linux-amd64'
export const ANVIL_DEFAULT_CHAIN_ID = 31337
const DEFAULT_READY_TIMEOUT_MS = 10_000
/** After SIGTERM anvil writes its state and exits within milliseconds; past this we SIGKILL. */
const STOP_GRACE_MS = 5_000
/** The tail of anvil's output kept for an error report. */
const OUTPUT_TAIL_CHARS = 4_096
const LISTENING_RE = /Listening on ([\d.]+):(\d+)/

/** The anvil binary: `explicit`, else ANVIL_PATH, else the npm package's bin/anvil. Throws AnvilNotFoundError. */
export function locateAnvil(explicit?: string): string {
  const candidates: { path: string; source: string }[] = []
  if (explicit !== undefined) candidates.push({ path: explicit, source: 'option' })
  else if (process.env.ANVIL_PATH) candidates.push({ path: process.env.ANVIL_PATH, source: 'ANVIL_PATH' })
  else {
    try {
      const manifest = createRequire(import.meta.url).resolve(`${ANVIL_PACKAGE}/package.json`)
      candidates.push({ path: join(dirname(manifest), 'bin', 'anvil'), source: ANVIL_PACKAGE })
    } catch (cause) {
      throw new AnvilNotFoundError(`anvil not found: install ${ANVIL_PACKAGE} (linux x64) or set ANVIL_PATH`, { package: ANVIL_PACKAGE }, { cause })
    }
  }
  const { path, source } = candidates[0]!
  try {
    accessSync(path, fsConstants.X_OK)
  } catch (cause) {
    throw new AnvilNotFoundError(`anvil at ${path} (from ${source}) is missing or not executable`, { path, source }, { cause })
  }
  return path
}

// Children still running when this process exits get SIGTERM (an 'exit' handler must be synchronous;
// kill only sends the signal). A parent killed by a signal runs no handler: a terminal's Ctrl-C reaches
// anvil through the process group, and tests stop theirs in afterAll.
const running = new Set<ChildProcess>()
let exitHookInstalled = false
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', () => {
      for (const c of running) c.kill('SIGTERM')
    })
  }
  running.add(child)
  child.once('exit', () => running.delete(child))
}

function argsOf(options: AnvilOptions, port: number, chainId: number): string[] {
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId)]
  if (options.accounts !== undefined) args.push('--accounts', String(options.accounts))
  if (options.mnemonic !== undefined) args.push('--mnemonic', options.mnemonic)
  if (options.blockTimeSec !== undefined) args.push('--block-time', String(options.blockTimeSec))
  if (options.stateDir !== undefined) {
    mkdirSync(options.stateDir, { recursive: true })
    args.push('--state', join(options.stateDir, 'anvil-state.json'))
    if (options.stateIntervalSec !== undefined) args.push('--state-interval', String(options.stateIntervalSec))
  }
  return args
}

function checkIntegerIn(value: number | undefined, field: string, min: number, max: number): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max)) {
    throw new AnvilStartError(`${field} must be an integer in [${min}, ${max}]`, { field, value })
  }
}

/**
 * Starts anvil and resolves once it answers JSON-RPC with the expected chain id.
 *
 * @example
 * const anvil = await startAnvil({ port: 0 })
 * const client = createPublicClient({ transport: http(anvil.url) })
 * await anvil.stop()
 *
 * Errors: AnvilNotFoundError (`anvil_not_found`), AnvilStartError (`anvil_start`).
 */
export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const chainId = options.chainId ?? ANVIL_DEFAULT_CHAIN_ID
  checkIntegerIn(options.port, 'port', 0, 65_535)
  checkIntegerIn(chainId, 'chainId', 1, Number.MAX_SAFE_INTEGER)
  checkIntegerIn(options.blockTimeSec, 'blockTimeSec', 1, 86_400)
  checkIntegerIn(options.stateIntervalSec, 'stateIntervalSec', 1, 86_400)
  checkIntegerIn(options.accounts, 'accounts', 1, 1_000)
  const binary = locateAnvil(options.binary)
  const child = spawn(binary, argsOf(options, options.port ?? 0, chainId), { stdio: ['ignore', 'pipe', 'pipe'] })
  track(child)

  let tail = ''
  let spawnError: Error | undefined
  const log = options.logFile === undefined ? undefined : createWriteStream(options.logFile, { flags: 'a' })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  void exited.then(() => log?.end())
  const failed = (summary: string, details: Record<string, unknown> = {}, cause?: unknown) =>
    new AnvilStartError(summary, { binary, output: tail, ...details }, cause === undefined ? undefined : { cause })

  // Settles once: the port anvil listens on, or why it never will. Later events find it settled.
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS
  let listening: ((port: number) => void) | undefined
  const portFound = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(failed(`anvil not ready within ${readyTimeoutMs} ms`)), readyTimeoutMs)
    listening = (port) => {
      clearTimeout(timer)
      resolve(port)
    }
    child.on('error', (error) => {
      spawnError = error
      clearTimeout(timer)
      reject(failed(`anvil could not be spawned: ${error.message}`, {}, error))
    })
    void exited.then(() => {
      clearTimeout(timer)
      reject(failed(`anvil exited before it was ready (code ${child.exitCode}, signal ${child.signalCode})`))
    })
  })
  const onOutput = (chunk: Buffer): void => {
    log?.write(chunk)
    if (listening === undefined) return // ready: only the log file (if any) wants the rest
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS)
    const match = LISTENING_RE.exec(tail)
    if (match) {
      listening(Number(match[2]))
      listening = undefined
    }
  }
  // Always drain both pipes: a full pipe would block anvil (it logs every RPC call).
  child.stdout!.on('data', onOutput)
  child.stderr!.on('data', onOutput)

  const isRunning = () => child.exitCode === null && child.signalCode === null && spawnError === undefined
  const stop = async (): Promise<void> => {
    if (!isRunning()) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
    await exited
    clearTimeout(timer)
  }

  try {
    const deadline = Date.now() + readyTimeoutMs
    const port = await portFound
    const url = `http://127.0.0.1:${port}`
    const answered = await waitForChainId(url, deadline, isRunning)
    if (answered !== chainId) throw failed(`anvil answered chain id ${answered}, expected ${chainId}`, { answered, chainId })
    return { url, port, chainId, process: child, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/** Polls eth_chainId until it answers or the deadline passes. */
async function waitForChainId(url: string, deadline: number, isRunning: () => boolean): Promise<number> {
  let lastError: unknown
  while (Date.now() < deadline && isRunning()) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        signal: AbortSignal.timeout(Math.max(1, Math.min(1_000, deadline - Date.now()))),
      })
      const body = (await response.json()) as { result?: unknown }
      if (typeof body.result === 'string') return Number(BigInt(body.result))
      lastError = body
    } catch (error) {
      lastError = error
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new AnvilStartError(isRunning() ? 'anvil did not answer eth_chainId in time' : 'anvil exited before answering eth_chainId', { url, lastError: String(lastError) }, { cause: lastError })
}
