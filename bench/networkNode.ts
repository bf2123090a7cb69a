// The network bench's node: the real daemon (startNode: RocksDB, libp2p, chain, RPC) in its own process,
// plus an IPC channel through which the bench asks it to run timed work against its own engine, so the
// figures are the node's, without HTTP in the measured path. Started by launchLocalNetwork like `channels node`.
import { performance } from 'node:perf_hooks'
import type { Bytes32 } from '../src/core/types.js'
import { addressToDestination } from '../src/core/outcome.js'
import { loadConfig } from '../src/node/config.js'
import { startNode } from '../src/node/node.js'
import type { Command, LedgerCommand } from './nodeIpc.js'
import type { Proposal } from '../src/protocols/ledger/proposal.js'

/** Wall-clock milliseconds with sub-ms resolution, comparable across processes on one machine. */
export const now = () => performance.timeOrigin + performance.now()

const argv = process.argv.slice(2)
const node = await startNode(loadConfig(argv[0] === 'node' ? argv.slice(1) : argv))
const { engine } = node

const target = (salt: number, i: number) => `0x${salt.toString(16).padStart(8, '0')}${i.toString(16).padStart(8, '0')}${'be'.repeat(24)}` as Bytes32

function sides(ledgerId: Bytes32) {
  const ledger = engine.getLedger(ledgerId)
  if (!ledger) throw new Error(`no ledger ${ledgerId}`)
  const [a, b] = ledger.fixed.participants
  return { left: addressToDestination(a!), right: addressToDestination(b!) }
}

/** The ledger changes an `updates` or `burst` command runs, in order; the same in both node processes. */
function benchProposals(command: LedgerCommand): Proposal[] {
  const { left, right } = sides(command.ledgerId)
  const add = (t: Bytes32): Proposal => ({ kind: 'add', target: t, left, right, leftAmount: 1n, rightAmount: 1n })
  const remove = (t: Bytes32): Proposal => ({ kind: 'remove', target: t, leftAmount: 1n })
  if (command.kind === 'updates') return Array.from({ length: command.count }, (_, i) => (i % 2 === 0 ? add : remove)(target(command.salt, i >> 1)))
  const targets = Array.from({ length: command.count }, (_, i) => target(command.salt, i))
  return [...targets.map(add), ...targets.map(remove)]
}

async function handle(command: Command): Promise<unknown> {
  switch (command.kind) {
    case 'updates': {
      // One update at a time: propose, the follower countersigns, supported here (both durable). Each added
      // guarantee is removed by the next update, so the ledger stays the same size throughout.
      const times: number[] = []
      for (const proposal of benchProposals(command)) {
        const start = performance.now()
        const id = await engine.updateLedger(command.ledgerId, proposal)
        const done = await engine.waitForObjective(id)
        times.push(performance.now() - start)
        if (done.status !== 'completed') throw new Error(`update ${id} ended ${done.status}`)
      }
      return times
    }
    case 'burst': {
      // Pipelined: `count` guarantees proposed at once, then removed at once; the time until all are supported.
      const proposals = benchProposals(command)
      const timed = async (batch: readonly Proposal[]) => {
        const start = performance.now()
        const ids = await Promise.all(batch.map((proposal) => engine.updateLedger(command.ledgerId, proposal)))
        await Promise.all(ids.map((id) => engine.waitForObjective(id)))
        return performance.now() - start
      }
      const add = await timed(proposals.slice(0, command.count))
      const remove = await timed(proposals.slice(command.count))
      return { add, remove }
    }
    case 'agree': {
      // The counterparty's owner agrees beforehand to every change the bench will run (ADR 0015), untimed.
      for (const proposal of benchProposals(command.to)) await engine.agreeLedgerUpdate(command.to.ledgerId, proposal)
      return null
    }
    case 'pay': {
      // A streaming payer: up to `window` payments in flight; each is signed, committed and sent.
      const start = now()
      const inFlight: Promise<unknown>[] = []
      for (let i = 0; i < command.count; i++) {
        inFlight.push(engine.pay(command.channelId, 1n))
        if (inFlight.length >= command.window) await inFlight.shift()
      }
      await Promise.all(inFlight)
      return { start, end: now() }
    }
    case 'appOpen': {
      const channelId = await engine.createAppChannel({ participants: command.participants, appId: command.appId, params: Uint8Array.from(command.params), deposits: command.deposits.map(BigInt), funding: 'none', nonce: BigInt(command.nonce) })
      await engine.waitForAppTurn(channelId, 0n)
      return channelId
    }
    case 'appMoves': {
      // Document edits, one at a time: submit, then wait until every participant's countersignature is here.
      // An insert and a delete alternate, so the state stays the same size throughout.
      const times: number[] = []
      for (let i = 0; i < command.count; i++) {
        const start = performance.now()
        const event = i % 2 === 0 ? Uint8Array.of(0x01, 0, 0, 1, 0, 0x78) : Uint8Array.of(0x02, 0, 0, 1, 0)
        const { turnNum } = await engine.submitEvent(command.channelId, event)
        await engine.waitForAppTurn(command.channelId, turnNum)
        times.push(performance.now() - start)
      }
      return times
    }
    case 'waitPaid': {
      const total = BigInt(command.total)
      await new Promise<void>((resolve) => {
        const check = () => (engine.getPaymentChannel(command.channelId)?.paid ?? 0n) >= total
        if (check()) return resolve()
        const off = engine.onChange((c) => {
          if (c.kind === 'payment' && check()) {
            off()
            resolve()
          }
        })
      })
      return { end: now() }
    }
  }
}

process.on('message', (command: Command) => {
  handle(command).then(
    (result) => process.send!({ id: command.id, result }),
    (error: unknown) => process.send!({ id: command.id, error: String(error) }),
  )
})
const stop = () => void node.stop().then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
process.once('disconnect', stop)
