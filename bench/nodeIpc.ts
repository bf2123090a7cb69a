// The bench's side of the IPC channel to bench/networkNode.ts: the commands a node process runs against its
// own engine, and a request/answer helper over child_process messages.
import type { ChildProcess } from 'node:child_process'
import type { Address, Bytes32 } from '../src/core/types.js'

/** Ledger changes a node runs: one at a time (`updates`) or pipelined (`burst`). */
export type LedgerCommand =
  | { readonly kind: 'updates'; readonly ledgerId: Bytes32; readonly count: number; readonly salt: number }
  | { readonly kind: 'burst'; readonly ledgerId: Bytes32; readonly count: number; readonly salt: number }

export type Command =
  | (LedgerCommand & { readonly id: number })
  /** The counterparty agrees to the changes of `to` before they run. */
  | { readonly id: number; readonly kind: 'agree'; readonly to: LedgerCommand }
  | { readonly id: number; readonly kind: 'pay'; readonly channelId: Bytes32; readonly count: number; readonly window: number }
  | { readonly id: number; readonly kind: 'waitPaid'; readonly channelId: Bytes32; readonly total: string }
  | { readonly id: number; readonly kind: 'appOpen'; readonly participants: readonly Address[]; readonly appId: Bytes32; readonly params: number[]; readonly deposits: readonly string[]; readonly nonce: string }
  | { readonly id: number; readonly kind: 'appMoves'; readonly channelId: Bytes32; readonly count: number }

type Request = Command extends infer C ? (C extends Command ? Omit<C, 'id'> : never) : never

let nextId = 1

/** Sends one command to a node process and resolves with its answer (or rejects with its error text). */
export function askNode<R>(child: ChildProcess, command: Request): Promise<R> {
  const id = nextId++
  return new Promise((resolve, reject) => {
    const listener = (message: { id: number; result?: R; error?: string }) => {
      if (message.id !== id) return
      child.off('message', listener)
      if (message.error !== undefined) reject(new Error(message.error))
      else resolve(message.result as R)
    }
    child.on('message', listener)
    child.send({ ...command, id })
  })
}
