// The custody: what a watchtower holds, in its data dir, durable across restarts (ADR 0021).
//
//   <data>/custody.json              the chain, adjudicator and payment app this custody serves (set by the
//                                    first hand-over; every later one must name the same)
//   <data>/channels/<channelId>.json one held channel: a hand-over document of that one channel
//   <data>/cursor.json               the last chain event `run` handled ({ block, logIndex })
//
// Plain files, not the node's RocksDB store: `channels watchtower add` writes while `run` runs, and RocksDB
// admits one process per directory. Every file is written whole or not at all (a temporary file, fsync'd,
// renamed, the directory fsync'd: writePrivateFile), with mode 0600 in a 0700 dir, since the states tell
// the channels' balances. A held channel's file is a hand-over document, so reading it back is the same
// edge as a hand-over (decodeHandover): a file damaged or edited on disk is refused, never trusted.
//
// Rules: a channel's state is replaced only by a higher turn (never regress); at most `maxChannels` channels
// (a hand-over that would pass it is refused whole). Two `add`s of one channel at the same instant may race
// between reading the held turn and the rename; the operator runs them one at a time.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import type { Bytes32 } from '../core/types.js'
import { CodecError, RejectedInputError, StoreError } from '../core/errors.js'
import { parseAddress } from '../core/canonical.js'
import { preview } from '../core/hex.js'
import { writePrivateFile } from '../node/privateFile.js'
import type { Handover, HandoverEntry, HandoverTarget } from './handover.js'
import { decodeHandover, encodeHandover, turnOf } from './handover.js'
import { CustodyFullError, CustodyMismatchError } from './errors.js'
import { DEFAULT_MAX_CHANNELS, MAX_CHANNEL_FILE_BYTES } from './limits.js'
import { record } from './signedStateJson.js'

export const CUSTODY_FORMAT = 'channels-watchtower-custody/1'
const TARGET_FILE = 'custody.json'
const CURSOR_FILE = 'cursor.json'
const CHANNELS_DIR = 'channels'
const CHANNEL_FILE_RE = /^0x[0-9a-f]{64}\.json$/
const OVER_BOUND = 'over the bound'

/** A position in the adjudicator's logs: everything at or before it was handled. */
export interface ChainCursor {
  readonly block: bigint
  readonly logIndex: number
}

/** What a hand-over did to one channel. */
export interface HoldResult {
  readonly channelId: Bytes32
  /** added: not held before; replaced: a lower turn was held; kept: the held turn is as high or higher. */
  readonly result: 'added' | 'replaced' | 'kept'
  readonly turnNum: bigint
  /** The turn held before, if any. */
  readonly previousTurnNum: bigint | null
}

/** A file in the custody that could not be read as what it should be. */
export interface RefusedFile {
  readonly file: string
  readonly error: RejectedInputError | StoreError
}

export class Custody {
  private readonly channelsDir: string
  /** File name → what it was when last read (refresh reads only files that changed). */
  private readonly seen = new Map<string, string>()

  private constructor(
    readonly dir: string,
    readonly maxChannels: number,
  ) {
    this.channelsDir = path.join(dir, CHANNELS_DIR)
  }

  /** Opens (creating) the custody in `dir`. */
  static open(dir: string, options: { readonly maxChannels?: number } = {}): Custody {
    const maxChannels = options.maxChannels ?? DEFAULT_MAX_CHANNELS
    if (!Number.isSafeInteger(maxChannels) || maxChannels < 1) throw new CodecError('maxChannels must be a positive integer', { value: maxChannels })
    try {
      mkdirSync(path.join(dir, CHANNELS_DIR), { recursive: true, mode: 0o700 })
    } catch (cause) {
      throw new StoreError(`cannot create the watchtower data dir ${dir}`, { dir }, { cause })
    }
    return new Custody(dir, maxChannels)
  }

  /** The chain, adjudicator and payment app this custody serves; undefined until the first hand-over. */
  target(): HandoverTarget | undefined {
    const file = path.join(this.dir, TARGET_FILE)
    if (!existsSync(file)) return undefined
    const f = record(readJson(file, 64 * 1024), file, ['format', 'chainId', 'adjudicator', 'virtualPaymentApp'])
    if (f.format !== CUSTODY_FORMAT) throw new CodecError(`${file} is not a ${CUSTODY_FORMAT} file`, { file })
    if (typeof f.chainId !== 'number' || !Number.isSafeInteger(f.chainId) || f.chainId <= 0) throw new CodecError(`${file}: chainId must be a positive integer`, { file })
    return { chainId: f.chainId, adjudicator: parseAddress(f.adjudicator, `${file}: adjudicator`), virtualPaymentApp: parseAddress(f.virtualPaymentApp, `${file}: virtualPaymentApp`) }
  }

  /**
   * Holds the channels of a hand-over (already decoded, so checked): each replaces the held state of its
   * channel only if its turn is higher. All or nothing as to the checks: a hand-over for another target, or
   * one that would hold more than `maxChannels`, writes nothing.
   * @throws CustodyMismatchError (`custody_mismatch`), CustodyFullError (`custody_full`), StoreError (`store`)
   */
  hold(handover: Handover): HoldResult[] {
    const target = this.target()
    if (target !== undefined && !sameTarget(target, handover)) {
      throw new CustodyMismatchError(
        `this custody serves chain ${target.chainId}, adjudicator ${target.adjudicator}, payment app ${target.virtualPaymentApp}; the hand-over is for chain ${handover.chainId}, adjudicator ${handover.adjudicator}, payment app ${handover.virtualPaymentApp}`,
        { custody: target, handover: { chainId: handover.chainId, adjudicator: handover.adjudicator, virtualPaymentApp: handover.virtualPaymentApp } },
      )
    }
    const held = new Set(this.channelFiles())
    const added = handover.channels.filter((e) => !held.has(fileOf(e.channelId))).length
    if (held.size + added > this.maxChannels) {
      throw new CustodyFullError(`the watchtower holds ${held.size} of at most ${this.maxChannels} channels; this hand-over adds ${added}`, { held: held.size, max: this.maxChannels, adding: added })
    }
    if (target === undefined) {
      const { chainId, adjudicator, virtualPaymentApp } = handover
      this.write(path.join(this.dir, TARGET_FILE), `${JSON.stringify({ format: CUSTODY_FORMAT, chainId, adjudicator, virtualPaymentApp })}\n`)
    }
    return handover.channels.map((entry) => {
      const previous = held.has(fileOf(entry.channelId)) ? this.readHeld(fileOf(entry.channelId), handover) : undefined
      const previousTurnNum = previous instanceof Error || previous === undefined ? null : turnOf(previous)
      if (previousTurnNum !== null && previousTurnNum >= turnOf(entry)) return { channelId: entry.channelId, result: 'kept', turnNum: turnOf(entry), previousTurnNum }
      // A held file that no longer reads (damaged on disk) is replaced: what is handed over now is checked.
      this.write(path.join(this.channelsDir, fileOf(entry.channelId)), encodeHandover({ ...handover, channels: [entry] }))
      return { channelId: entry.channelId, result: previous === undefined ? 'added' : 'replaced', turnNum: turnOf(entry), previousTurnNum }
    })
  }

  /** Every held channel, each file read and checked again; files that fail are listed, not thrown. */
  entries(): { readonly held: HandoverEntry[]; readonly refused: RefusedFile[] } {
    this.seen.clear()
    return this.refresh()
  }

  /** The held channels whose files changed since the last call (all of them on the first), read and checked. */
  refresh(): { readonly held: HandoverEntry[]; readonly refused: RefusedFile[] } {
    const target = this.target()
    const held: HandoverEntry[] = []
    const refused: RefusedFile[] = []
    if (target === undefined) return { held, refused }
    const names = this.channelFiles().sort()
    const present = new Set(names)
    for (const name of this.seen.keys()) if (!present.has(name)) this.seen.delete(name)
    // More files than the bound (copied in by hand, or the bound lowered): the surplus is refused, once each.
    for (const name of names.slice(this.maxChannels)) {
      if (this.seen.get(name) === OVER_BOUND) continue
      this.seen.set(name, OVER_BOUND)
      const file = path.join(this.channelsDir, name)
      refused.push({ file, error: new CustodyFullError(`${file} is beyond the ${this.maxChannels} channels this watchtower holds`, { file, max: this.maxChannels }) })
    }
    for (const name of names.slice(0, this.maxChannels)) {
      const file = path.join(this.channelsDir, name)
      let stamp: string
      try {
        const s = statSync(file)
        stamp = `${s.ino}:${s.size}:${s.mtimeMs}`
      } catch (cause) {
        refused.push({ file, error: new StoreError(`cannot read ${file}`, { file }, { cause }) })
        continue
      }
      if (this.seen.get(name) === stamp) continue
      this.seen.set(name, stamp)
      const entry = this.readHeld(name, target)
      if (entry instanceof Error) refused.push({ file, error: entry })
      else held.push(entry)
    }
    return { held, refused }
  }

  /** The cursor `run` saved, if any. @throws CodecError (`codec`) for a damaged cursor file */
  readCursor(): ChainCursor | undefined {
    const file = path.join(this.dir, CURSOR_FILE)
    if (!existsSync(file)) return undefined
    const f = record(readJson(file, 1024), file, ['block', 'logIndex'])
    if (typeof f.block !== 'string' || !/^(?:0|[1-9][0-9]{0,77})$/.test(f.block)) throw new CodecError(`${file}: block must be a decimal string`, { file, value: preview(f.block) })
    if (typeof f.logIndex !== 'number' || !Number.isSafeInteger(f.logIndex) || f.logIndex < 0) throw new CodecError(`${file}: logIndex must be a non-negative integer`, { file })
    return { block: BigInt(f.block), logIndex: f.logIndex }
  }

  writeCursor(cursor: ChainCursor): void {
    this.write(path.join(this.dir, CURSOR_FILE), `${JSON.stringify({ block: cursor.block.toString(), logIndex: cursor.logIndex })}\n`)
  }

  private channelFiles(): string[] {
    try {
      return readdirSync(this.channelsDir).filter((name) => CHANNEL_FILE_RE.test(name))
    } catch (cause) {
      throw new StoreError(`cannot list ${this.channelsDir}`, { dir: this.channelsDir }, { cause })
    }
  }

  /** One held channel's file, checked as a hand-over of that one channel for `target`; the error otherwise. */
  private readHeld(name: string, target: HandoverTarget): HandoverEntry | RejectedInputError | StoreError {
    const file = path.join(this.channelsDir, name)
    try {
      const handover = decodeHandover(readBytes(file, MAX_CHANNEL_FILE_BYTES))
      const entry = handover.channels[0]
      if (handover.channels.length !== 1 || entry === undefined || fileOf(entry.channelId) !== name) throw new CodecError(`${file} must hold the one channel its name says`, { file })
      if (!sameTarget(handover, target)) throw new CustodyMismatchError(`${file} is for another chain, adjudicator or payment app than the custody`, { file })
      return entry
    } catch (error) {
      if (error instanceof RejectedInputError || error instanceof StoreError) return error
      throw error
    }
  }

  private write(file: string, text: string): void {
    try {
      writePrivateFile(file, text)
    } catch (cause) {
      throw new StoreError(`cannot write ${file}`, { file }, { cause })
    }
  }
}

function fileOf(channelId: Bytes32): string {
  return `${channelId}.json`
}

function sameTarget(a: HandoverTarget, b: HandoverTarget): boolean {
  return a.chainId === b.chainId && a.adjudicator === b.adjudicator && a.virtualPaymentApp === b.virtualPaymentApp
}

function readBytes(file: string, max: number): Buffer {
  let size: number
  try {
    size = statSync(file).size
  } catch (cause) {
    throw new StoreError(`cannot read ${file}`, { file }, { cause })
  }
  // The size first: a file someone grew on disk is refused before it is read into memory.
  if (size > max) throw new CodecError(`${file} is larger than ${max} bytes`, { file, size, max })
  try {
    return readFileSync(file)
  } catch (cause) {
    throw new StoreError(`cannot read ${file}`, { file }, { cause })
  }
}

function readJson(file: string, max: number): unknown {
  try {
    return JSON.parse(readBytes(file, max).toString('utf8')) as unknown
  } catch (cause) {
    if (cause instanceof StoreError || cause instanceof CodecError) throw cause
    throw new CodecError(`${file} is not valid JSON`, { file }, { cause })
  }
}
