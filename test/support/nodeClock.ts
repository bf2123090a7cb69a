// A node process whose clock a test moves together with the chain's (issue 15). A dispute waits on the node's
// own clock (Date.now, through the engine's scheduler) for the chain time a challenge finalizes at: a test that
// moves anvil's clock an hour on (increaseTime) must move the node's too, or the node would wait the real hour.
// The node has no setting for that, so this file is loaded into the node process (`--import`, after tsx's
// loader; `clockedNodeCommand`) and there shifts Date.now by an offset: the one in the environment at start
// (NODE_CLOCK_OFFSET_MS), then whatever the test sends over the process's IPC channel (`setNodeClock`), each
// change acknowledged, so the test knows the node's clock moved before it waits on the node.
//
// Imported by a test, it only exports the helpers: the clock is patched only in a process started with
// NODE_CLOCK_INSTALL set, which `clockedNodeCommand`'s callers pass in its environment.
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { channelsCommand } from '../../src/node/launcher.js'

interface ClockMessage {
  readonly nodeClockOffsetMs: number
}

const isClockMessage = (m: unknown): m is ClockMessage => typeof m === 'object' && m !== null && typeof (m as ClockMessage).nodeClockOffsetMs === 'number'

/** The environment that installs the clock in a process started with `clockedNodeCommand`, `offsetMs` ahead of the wall clock. */
export function nodeClockEnv(offsetMs: number): NodeJS.ProcessEnv {
  return { NODE_CLOCK_INSTALL: '1', NODE_CLOCK_OFFSET_MS: String(Math.round(offsetMs)) }
}

/** `channels` (as launcher.ts runs it from the sources) with this file loaded first: spawnNode's `command`. */
export function clockedNodeCommand(): string[] {
  const command = channelsCommand()
  const entry = command.at(-1)!
  if (!entry.endsWith('.ts')) throw new Error('a clocked node runs from the TypeScript sources (through tsx)')
  return [...command.slice(0, -1), '--import', pathToFileURL(fileURLToPath(import.meta.url)).href, entry]
}

/** Sets the node's clock `offsetMs` ahead of the wall clock; resolves once the node acknowledged it. */
export function setNodeClock(child: ChildProcess, offsetMs: number): Promise<void> {
  const nodeClockOffsetMs = Math.round(offsetMs)
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (!isClockMessage(m) || m.nodeClockOffsetMs !== nodeClockOffsetMs) return
      child.off('message', onMessage)
      child.off('exit', onExit)
      resolve()
    }
    const onExit = () => {
      child.off('message', onMessage)
      reject(new Error('the node exited before it acknowledged its new clock'))
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
    child.send({ nodeClockOffsetMs } satisfies ClockMessage)
  })
}

if (process.env.NODE_CLOCK_INSTALL === '1') {
  const wallNow = Date.now.bind(Date)
  let offsetMs = Number(process.env.NODE_CLOCK_OFFSET_MS ?? '0')
  if (!Number.isSafeInteger(offsetMs)) throw new Error(`NODE_CLOCK_OFFSET_MS is not a whole number of ms: ${process.env.NODE_CLOCK_OFFSET_MS}`)
  Date.now = () => wallNow() + offsetMs
  process.on('message', (m: unknown) => {
    if (!isClockMessage(m)) return
    offsetMs = m.nodeClockOffsetMs
    process.send!(m)
  })
  // The channel must not keep the node alive once it stopped (a graceful stop ends the process by emptying its loop).
  process.channel?.unref()
}
