// Sessions of the built sample apps (apps/build/*.wasm) through the production runtime (src/wasm/wasmRuntime.ts)
// and the pure app-channel core, for `channels verify` tests and the apps benchmark: seeded random legal
// tic-tac-toe games and document edit sequences (event encodings from the header comments of
// apps/tictactoe/tictactoe.ts and apps/document/document.ts), and the exported log of a whole session played
// with real signers, every update delivered to every participant (src/protocols/app/testApps.ts).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Random } from '../../src/core/seededRandom.js'
import type { AppRuntime } from '../../src/wasm/appRuntime.js'
import { WasmAppRuntime } from '../../src/wasm/wasmRuntime.js'
import type { AppDefinition } from '../../src/protocols/app/appData.js'
import type { ExportedLog } from '../../src/protocols/app/replay.js'
import { exportLog } from '../../src/protocols/app/appChannel.js'
import type { Actor } from '../../src/protocols/app/testApps.js'
import { definitionOf, move, openSession } from '../../src/protocols/app/testApps.js'

export const APPS_BUILD_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'apps', 'build')

export function builtModulePath(name: 'tictactoe' | 'document' | 'rps' | 'dice'): string {
  return path.join(APPS_BUILD_DIR, `${name}.wasm`)
}

export function loadBuiltApp(name: 'tictactoe' | 'document' | 'rps' | 'dice'): WasmAppRuntime {
  return WasmAppRuntime.load(new Uint8Array(readFileSync(builtModulePath(name))))
}

/** One event of a session: its author's participant index and the app's event bytes. */
export interface AppMove {
  readonly author: number
  readonly payload: Uint8Array
}

const LINES = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]] as const

/** A whole legal tic-tac-toe game (5 to 9 moves, X first): random free cells until a line or a full board. */
export function ticTacToeGame(random: Random): AppMove[] {
  const board = new Array<number>(9).fill(0)
  const moves: AppMove[] = []
  for (let turn = 0; turn < 9; turn++) {
    const free = board.flatMap((mark, cell) => (mark === 0 ? [cell] : []))
    const cell = random.pick(free)
    const player = turn % 2
    board[cell] = player + 1
    moves.push({ author: player, payload: Uint8Array.of(0x01, cell) })
    if (LINES.some((line) => line.every((c) => board[c] === player + 1))) break
  }
  return moves
}

const u16 = (value: number): [number, number] => [value & 0xff, value >>> 8]

/**
 * `count` legal document edits by random authors among `participants`: inserts of 1..`maxInsert` letters
 * and deletes, keeping the text at most `maxText` bytes (the app's cap is 4096), so a long session stays legal.
 */
export function documentEdits(random: Random, p: { participants: number; count: number; maxText?: number; maxInsert?: number }): AppMove[] {
  const maxText = p.maxText ?? 1024
  const maxInsert = p.maxInsert ?? 16
  let length = 0
  const moves: AppMove[] = []
  for (let i = 0; i < p.count; i++) {
    const author = random.int(p.participants)
    const grow = length === 0 || (length + maxInsert <= maxText && random.chance(0.6))
    if (grow) {
      const count = 1 + random.int(maxInsert)
      const position = random.int(length + 1)
      const text = Array.from({ length: count }, () => 0x61 + random.int(26))
      moves.push({ author, payload: Uint8Array.of(0x01, ...u16(position), ...u16(count), ...text) })
      length += count
    } else {
      const position = random.int(length)
      const count = 1 + random.int(Math.min(maxInsert, length - position))
      moves.push({ author, payload: Uint8Array.of(0x02, ...u16(position), ...u16(count)) })
      length -= count
    }
  }
  return moves
}

/** The document's `finish` event: after it the document is final. */
export const DOCUMENT_FINISH = Uint8Array.of(0x03)

/** An app channel of `actors` running `runtime`, whose params are just the participant count (both sample apps). */
export function sampleDefinition(runtime: AppRuntime, actors: readonly Actor[]): AppDefinition {
  return { ...definitionOf(runtime, actors, { deposits: actors.map((_, i) => BigInt(1000 * (i + 1))) }), params: Uint8Array.of(actors.length) }
}

/** Plays `moves` as a whole session (each turn signed by every actor) and returns the log participant 0 exports. */
export function playSession(runtime: AppRuntime, actors: readonly Actor[], moves: readonly AppMove[]): ExportedLog {
  const session = openSession(runtime, actors, sampleDefinition(runtime, actors))
  for (const m of moves) move(session, m.author, m.payload)
  return exportLog(session.channels[0]!)
}
