// The `channels` commands that talk to a running node over its JSON-RPC API through the typed client
// (src/client/client.ts): address and info, ledger channels, payment channels, payments and vouchers, and a
// live view of notifications; app channels and their exported log (appCommands.ts); and `verify`, which
// checks an exported app-channel log offline (verify.ts).
// `channels node` (the daemon) is dispatched before this (channels.ts).
//
// The node is found as connection.ts says (ADR 0011); help and usage texts are in help.ts. Options are
// parsed with node:util parseArgs (strict) in two passes: the first finds the command words, the second
// checks the command's own options. Exit codes: 0 done, 1 the node or the world said no (printed as one
// readable line plus the node's error code), 2 the command line is wrong (one line and a usage hint), 130
// Ctrl-C during a wait. docs/cli.md shows every command. Free text from the node or a peer is escaped
// where it is rendered (sanitize.ts's escapeText), and both streams pass through terminalSafe as a last guard.
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { Bytes32 } from '../core/types.js'
import { RpcError } from '../client/client.js'
import type { ChannelsClient } from '../client/client.js'
import type { ObjectiveInfo, PaymentChannelInfo, Topic } from '../client/index.js'
import { RpcErrorCode } from '../rpc/errors.js'
import { TOPICS, voucherSchema } from '../rpc/schemas.js'
import type { Voucher } from '../rpc/schemas.js'
import type { Writer } from './format.js'
import { CliFailure, Progress, UsageError, describeError, formatAmount, formatNotification, parseAmount, parseChannelId, renderFields, renderLedger, renderDisputeTable, renderLedgerTable, renderPayment, renderPaymentTable, renderTable, required, parseAddress, shortId, shortObjectiveId, timeoutSeconds, toJson } from './format.js'
import type { Values } from './format.js'
import { connect, resolveConnection } from './connection.js'
import type { Connection } from './connection.js'
import { GLOBAL_OPTIONS, findCommand, helpText, subcommandsOf, usageFailure } from './help.js'
import type { CommandHelp, OptionSpec } from './help.js'
import { VERIFY_COMMAND, runVerify } from './verify.js'
import { escapeText, terminalSafe } from './sanitize.js'
import { APP_COMMANDS } from './appCommands.js'

/** Streams and environment of one run; tests inject them, the `channels` entry uses the process's. */
export interface CommandIo {
  readonly stdout?: Writer
  readonly stderr?: Writer
  readonly stdin?: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Ends `watch` and waits (as Ctrl-C does); by default SIGINT. */
  readonly signal?: AbortSignal
}

/** How long open/close commands wait for their objective unless `--timeout` says otherwise. */
const DEFAULT_WAIT_SECONDS = 120
/** How often a wait asks the node where its objective stands (for the progress line). */
const PROGRESS_POLL_MS = 400
const SPINNER_FRAME_MS = 100
/** How often `watch` checks that the node is still there (the client does not report a closed socket). */
const WATCH_PING_MS = 2_000
/** A voucher is ~250 bytes of JSON; more on stdin is not a voucher. */
const MAX_STDIN_BYTES = 64 * 1024
const EXIT_INTERRUPTED = 130


const WAIT_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'no-wait': { type: 'boolean', help: 'return once the objective has started, without waiting for it to complete' },
  timeout: { type: 'string', value: '<seconds>', help: `how long to wait for completion (default ${DEFAULT_WAIT_SECONDS})` },
}

interface Context {
  readonly out: Writer
  readonly err: Writer
  readonly json: boolean
  readonly io: CommandIo
  readonly signal: AbortSignal
  /** Connects on first use (so usage errors never need a node). */
  client(): Promise<ChannelsClient>
  connection(): Connection
  /** Ctrl-C stops a wait instead of the process. */
  interruptible: boolean
}

interface Command extends CommandHelp {
  readonly run: (ctx: Context, values: Values, args: readonly string[]) => Promise<number>
}

const COMMANDS: readonly Command[] = [
  {
    name: 'address',
    summary: 'The node\'s channel address (the key that signs states and vouchers).',
    example: 'channels --data-dir data/alice address',
    run: async (ctx) => print(ctx, await (await ctx.client()).getAddress()),
  },
  {
    name: 'info',
    summary: 'Who the node is: address, version, chain id, peer id, multiaddrs, RPC URL.',
    example: 'channels --data-dir data/alice info',
    run: async (ctx) => {
      const info = await (await ctx.client()).getNodeInfo()
      const { url, file } = ctx.connection()
      const extra = file ? { chainAddress: file.chainAddress, chainUrl: file.chainUrl, pid: file.pid } : {}
      const t = (text: unknown) => escapeText(String(text))
      return print(ctx, { ...info, rpcUrl: url, ...extra }, renderFields([
        ['address', info.address],
        ['version', t(info.version)],
        ['chain id', info.chainId === null ? '(none)' : String(info.chainId)],
        ['peer id', info.peerId === null ? '(none)' : t(info.peerId)],
        ['multiaddrs', info.multiaddrs.map(t).join('\n') || '(none)'],
        ['rpc url', t(url)],
        ...(file ? ([['chain address', t(file.chainAddress)], ['chain url', t(file.chainUrl)], ['pid', t(file.pid)]] as const) : []),
      ]))
    },
  },
  {
    name: 'rejections',
    summary: 'What the node refused (a stranger\'s ledger, a ledger change nobody agreed to, junk, floods): counts by code, then the latest.',
    example: 'channels --data-dir data/alice rejections',
    run: async (ctx) => {
      const rejections = await (await ctx.client()).getRejections()
      const t = (text: unknown) => escapeText(String(text))
      const counts = Object.entries(rejections.counts).sort(([a], [b]) => (a < b ? -1 : 1))
      const text =
        (counts.length === 0 ? 'nothing refused\n' : renderTable([{ header: 'code' }, { header: 'count', align: 'right' }], counts.map(([code, n]) => [t(code), String(n)]))) +
        (rejections.recent.length === 0 ? '' : `\nlatest:\n${rejections.recent.map((r) => `  ${t(r.code)}${r.from ? ` from ${r.from}` : ''}: ${t(r.summary)}`).join('\n')}\n`)
      return print(ctx, rejections, text)
    },
  },
  {
    name: 'ledger open',
    options: {
      with: { type: 'string', value: '<address>', help: 'the counterparty (a hub, or the peer you pay directly)' },
      deposit: { type: 'string', value: '<amount>', help: 'what I deposit: wei, or 1.5eth, 200gwei' },
      'their-deposit': { type: 'string', value: '<amount>', help: 'what the counterparty deposits (default: the same as mine)' },
      asset: { type: 'string', value: '<address>', help: 'an ERC20 token (default ETH)' },
      ...WAIT_OPTIONS,
    },
    summary: 'Opens and funds a ledger channel with a counterparty (both deposit on chain), and waits until it is open.',
    example: 'channels --data-dir data/alice ledger open --with 0x2546BcD3c84621e976D8185a91A922aE77ECEc30 --deposit 0.01eth',
    run: async (ctx, v) => {
      const counterparty = parseAddress(required(v, 'with'), '--with')
      const myDeposit = parseAmount(required(v, 'deposit'), '--deposit')
      const theirDeposit = typeof v['their-deposit'] === 'string' ? parseAmount(v['their-deposit'], '--their-deposit') : myDeposit
      const asset = typeof v.asset === 'string' ? parseAddress(v.asset, '--asset') : undefined
      const wait = waitPlan(v)
      const client = await ctx.client()
      const started = await client.createLedgerChannel({ counterparty, myDeposit, theirDeposit, ...(asset ? { asset } : {}) })
      return finishObjective(ctx, started, wait, async () => {
        const l = await client.getLedgerChannel(started.channelId)
        return `ledger channel ${l.channelId} is ${l.status}: mine ${formatAmount(l.myBalance, l.asset)}, theirs ${formatAmount(l.theirBalance, l.asset)}`
      })
    },
  },
  {
    name: 'ledger close',
    args: ['<id>'],
    options: WAIT_OPTIONS,
    summary: 'Closes a ledger channel that funds no payment channel: both sign a final state, then each withdraws.',
    example: 'channels --data-dir data/alice ledger close 0x6c2f9e41',
    run: async (ctx, v, [id]) => {
      const given = parseChannelId(id!, 'ledger channel id')
      const wait = waitPlan(v)
      const client = await ctx.client()
      const channelId = await findLedger(client, given)
      const started = await client.closeLedgerChannel(channelId)
      return finishObjective(ctx, { ...started, channelId }, wait, async () => `ledger channel ${channelId} is ${(await client.getLedgerChannel(channelId)).status}`)
    },
  },
  {
    name: 'ledger challenge',
    args: ['<id>'],
    options: WAIT_OPTIONS,
    summary: 'Settles a ledger on chain without the counterparty: challenges with its supported state, then pays it out once the challenge finalizes.',
    example: 'channels --data-dir data/alice ledger challenge 0x6c2f9e41',
    run: async (ctx, v, [id]) => {
      const given = parseChannelId(id!, 'ledger channel id')
      const wait = waitPlan(v)
      const client = await ctx.client()
      const channelId = await findLedger(client, given)
      const started = await client.challengeLedgerChannel(channelId)
      return finishObjective(ctx, { ...started, channelId }, wait, async () => `ledger channel ${channelId} is ${(await client.getLedgerChannel(channelId)).status}`)
    },
  },
  {
    name: 'ledger list',
    summary: 'Every ledger channel the node has or had: id, counterparty, balances, guarantees, status.',
    example: 'channels --data-dir data/alice ledger list',
    run: async (ctx) => {
      const ledgers = await (await ctx.client()).getAllLedgerChannels()
      return print(ctx, ledgers, ledgers.length === 0 ? 'no ledger channels\n' : renderLedgerTable(ledgers))
    },
  },
  {
    name: 'ledger show',
    args: ['<id>'],
    summary: 'One ledger channel in detail, with the guarantees that fund payment channels.',
    example: 'channels --data-dir data/alice ledger show 0x6c2f9e41',
    run: async (ctx, _v, [id]) => {
      const given = parseChannelId(id!, 'ledger channel id')
      const client = await ctx.client()
      const channelId = await findLedger(client, given)
      const ledger = await client.getLedgerChannel(channelId)
      return print(ctx, ledger, renderLedger(ledger))
    },
  },
  {
    name: 'dispute list',
    summary: 'Every dispute the node runs or ran on chain (ledger or app channel): the turn it registers or defends, the deadline, where it stands.',
    example: 'channels --data-dir data/alice dispute list',
    run: async (ctx) => {
      const disputes = await (await ctx.client()).listDisputes()
      return print(ctx, disputes, disputes.length === 0 ? 'no disputes\n' : renderDisputeTable(disputes))
    },
  },
  {
    name: 'dispute handover',
    options: { out: { type: 'string', value: '<file>', help: 'where to write the hand-over (default: standard output)' } },
    summary: 'The file a watchtower takes (channels watchtower add): the latest supported state of every channel this node could lose to a stale challenge while offline.',
    example: 'channels --data-dir data/bob dispute handover --out bob.watchtower.json',
    run: async (ctx, v) => {
      const { document, channels } = await (await ctx.client()).exportWatchtowerHandover()
      const out = v.out as string | undefined
      if (out === undefined) {
        ctx.out.write(document) // the file itself, whatever --json says
        return 0
      }
      writeFileSync(out, document, { mode: 0o600 }) // balances and signatures: the owner's to hand over
      return print(ctx, { file: out, channels }, `${channels} channel${channels === 1 ? '' : 's'} handed over in ${out}\n`)
    },
  },
  {
    name: 'payment open',
    options: {
      to: { type: 'string', value: '<address>', help: 'the payee' },
      via: { type: 'string', value: '<hub>[,<hub>…]', help: 'the intermediaries, in path order (default: none, over our direct ledger)' },
      amount: { type: 'string', value: '<amount>', help: 'what I put in: the most I can pay through it' },
      asset: { type: 'string', value: '<address>', help: 'an ERC20 token (default ETH)' },
      ...WAIT_OPTIONS,
    },
    summary: 'Opens a payment channel to a payee through hubs (funded by guarantees in the ledgers), and waits until it is open.',
    example: 'channels --data-dir data/alice payment open --to 0x976EA74026E726554dB657fA54763abd0C3a0aa9 --via 0x2546BcD3c84621e976D8185a91A922aE77ECEc30 --amount 1000000',
    run: async (ctx, v) => {
      const counterparty = parseAddress(required(v, 'to'), '--to')
      const intermediaries = typeof v.via === 'string' ? v.via.split(',').map((s) => s.trim()).filter(Boolean).map((s) => parseAddress(s, '--via')) : []
      const amount = parseAmount(required(v, 'amount'), '--amount', { positive: true })
      const asset = typeof v.asset === 'string' ? parseAddress(v.asset, '--asset') : undefined
      const wait = waitPlan(v)
      const client = await ctx.client()
      const started = await client.createPaymentChannel({ counterparty, intermediaries, amount, ...(asset ? { asset } : {}) })
      return finishObjective(ctx, started, wait, async () => {
        const pc = await client.getPaymentChannel(started.channelId)
        return `payment channel ${pc.channelId} is ${pc.status}: ${formatAmount(pc.startingBalance, pc.asset)} to ${pc.payee}`
      })
    },
  },
  {
    name: 'payment close',
    args: ['<id>'],
    options: WAIT_OPTIONS,
    summary: 'Closes a payment channel (payer or payee): the payee gets what the vouchers say, the payer the rest.',
    example: 'channels --data-dir data/alice payment close 0x9a04c1d7',
    run: async (ctx, v, [id]) => {
      const given = parseChannelId(id!, 'payment channel id')
      const wait = waitPlan(v)
      const client = await ctx.client()
      const channelId = await findPayment(client, given)
      const started = await client.closePaymentChannel(channelId)
      return finishObjective(ctx, { ...started, channelId }, wait, async () => {
        const pc = await client.getPaymentChannel(channelId)
        return `payment channel ${channelId} is ${pc.status}: paid ${formatAmount(pc.paid, pc.asset)}`
      })
    },
  },
  {
    name: 'payment challenge',
    args: ['<id>'],
    options: WAIT_OPTIONS,
    summary: 'Settles a payment channel on chain without the others: registers the best state this node holds, disputes the ledgers holding its guarantee, reclaims it and pays them out.',
    example: 'channels --data-dir data/bob payment challenge 0x9a04c1d7',
    run: async (ctx, v, [id]) => {
      const given = parseChannelId(id!, 'payment channel id')
      const wait = waitPlan(v)
      const client = await ctx.client()
      const channelId = await findPayment(client, given)
      const started = await client.challengePaymentChannel(channelId)
      return finishObjective(ctx, { ...started, channelId }, wait, async () => {
        const pc = await client.getPaymentChannel(channelId)
        return `payment channel ${channelId} is ${pc.status}: paid ${formatAmount(pc.paid, pc.asset)}`
      })
    },
  },
  {
    name: 'payment show',
    args: ['<id>'],
    summary: 'One payment channel: status, my role, deposit, paid, remaining, the latest voucher.',
    example: 'channels --data-dir data/bob payment show 0x9a04c1d7',
    run: async (ctx, _v, [id]) => {
      const given = parseChannelId(id!, 'payment channel id')
      const client = await ctx.client()
      const channelId = await findPayment(client, given)
      const pc = await client.getPaymentChannel(channelId)
      return print(ctx, pc, renderPayment(pc))
    },
  },
  {
    name: 'payment list',
    options: { ledger: { type: 'string', value: '<id>', help: 'only those funded through this ledger channel (default: all)' } },
    summary: 'Payment channels funded through a ledger channel (or through any of mine).',
    example: 'channels --data-dir data/alice payment list --ledger 0x6c2f9e41',
    run: async (ctx, v) => {
      const given = typeof v.ledger === 'string' ? parseChannelId(v.ledger, '--ledger') : undefined
      const client = await ctx.client()
      let channels: PaymentChannelInfo[]
      if (given) {
        const ledgerId = await findLedger(client, given)
        channels = await client.getPaymentChannelsByLedger(ledgerId)
      } else channels = await allPaymentChannels(client)
      return print(ctx, channels, channels.length === 0 ? 'no payment channels\n' : renderPaymentTable(channels))
    },
  },
  {
    name: 'pay',
    args: ['<channelId>', '<amount>'],
    summary: 'Payer: pays <amount> more through a payment channel; prints the cumulative amount of the voucher sent.',
    example: 'channels --data-dir data/alice pay 0x9a04c1d7 1000',
    run: async (ctx, _v, [id, amountText]) => {
      const given = parseChannelId(id!, 'payment channel id')
      const amount = parseAmount(amountText!, 'amount', { positive: true })
      const client = await ctx.client()
      const channelId = await findPayment(client, given)
      const voucher = await client.pay(channelId, amount)
      return print(ctx, voucher, `paid ${amount}; total paid ${voucher.amount} (voucher for ${shortId(channelId)})\n`)
    },
  },
  {
    name: 'voucher create',
    args: ['<channelId>', '<amount>'],
    summary: 'Payer: a voucher for <amount> more, not sent: printed as one JSON line to hand over (or pipe to `voucher redeem`).',
    example: 'channels --data-dir data/alice voucher create 0x9a04c1d7 500 > voucher.json',
    run: async (ctx, _v, [id, amountText]) => {
      const given = parseChannelId(id!, 'payment channel id')
      const amount = parseAmount(amountText!, 'amount', { positive: true })
      const client = await ctx.client()
      const channelId = await findPayment(client, given)
      ctx.out.write(`${toJson(await client.createVoucher(channelId, amount))}\n`)
      return 0
    },
  },
  {
    name: 'voucher redeem',
    args: ['<voucher json | ->'],
    summary: 'Payee: redeems a voucher given as JSON, or read from stdin with -.',
    example: 'channels --data-dir data/alice voucher create 0x9a04c1d7 500 | channels --data-dir data/bob voucher redeem -',
    run: async (ctx, _v, [text]) => {
      const voucher = parseVoucher(text === '-' ? await readStdin(ctx.io.stdin ?? process.stdin) : text!)
      const pc = await (await ctx.client()).receiveVoucher(voucher)
      return print(ctx, pc, `redeemed: payment channel ${pc.channelId} paid ${formatAmount(pc.paid, pc.asset)}, remaining ${formatAmount(pc.remaining, pc.asset)}\n`)
    },
  },
  {
    name: 'watch',
    options: { topics: { type: 'string', value: '<topic>[,<topic>…]', help: `what to show (default all): ${TOPICS.join(', ')}` } },
    summary: 'Shows the node\'s notifications live, one line each (time, topic, facts), until Ctrl-C.',
    example: 'channels --data-dir data/bob watch --topics payment_channel_updated',
    run: watch,
  },
  ...APP_COMMANDS,
  {
    ...VERIFY_COMMAND,
    run: (ctx, v, [file]) => runVerify(ctx, { file: file!, module: v.module }),
  },
  {
    name: 'help',
    args: ['[command]'],
    summary: 'This help, or a command\'s.',
    example: 'channels help ledger open',
    run: async () => 0, // answered in runCommand
  },
]

/**
 * Runs one `channels` command line (without `node`), writing to `io`'s streams; resolves to the exit code.
 * @example process.exitCode = await runCommand(process.argv.slice(2))
 */
export async function runCommand(argv: readonly string[], io: CommandIo = {}): Promise<number> {
  // The last guard: outside text is escaped where it is rendered; nothing else but the CLI's own line
  // breaks and progress codes reaches the terminal either (sanitize.ts).
  const out = terminalSafe(io.stdout ?? process.stdout)
  const err = terminalSafe(io.stderr ?? process.stderr)
  let parsed: Parsed
  try {
    parsed = parse(argv)
  } catch (error) {
    return usageFailure(err, error, COMMANDS, looseWords(argv))
  }
  const { command, words, values, args } = parsed
  if (!command || command.name === 'help' || values.help) {
    out.write(helpText(COMMANDS, command?.name === 'help' ? args : words))
    return 0
  }

  const controller = new AbortController()
  const signal = io.signal ?? controller.signal
  let client: Promise<ChannelsClient> | undefined
  let connection: Connection | undefined
  const ctx: Context = {
    out,
    err,
    json: values.json === true,
    io,
    signal,
    interruptible: false,
    connection: () => (connection ??= resolveConnection(values, io.env ?? process.env)),
    client: () => (client ??= connect(ctx.connection(), err)),
  }
  // Ctrl-C ends a wait or `watch` (the objective goes on in the node); anything else stops at once.
  const onSigint = () => {
    if (!ctx.interruptible || controller.signal.aborted) process.exit(EXIT_INTERRUPTED)
    controller.abort()
  }
  if (!io.signal) process.on('SIGINT', onSigint)
  try {
    return await command.run(ctx, values, args)
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(err, error, COMMANDS, words)
    for (const line of describeError(error)) err.write(`${line}\n`)
    if (error instanceof RpcError && error.code === RpcErrorCode.unauthorized) err.write('  the API secret does not match the node\'s (<data dir>/rpc.secret, --secret or CHANNELS_RPC_SECRET)\n')
    return 1
  } finally {
    if (!io.signal) process.off('SIGINT', onSigint)
    // A client that failed to connect has nothing to close; its error was reported above.
    if (client) await client.then((c) => c.close(), () => undefined)
  }
}

// ---- parsing ----

interface Parsed {
  /** Undefined only with --help: help for a group (`channels ledger --help`) or for everything. */
  readonly command: Command | undefined
  readonly words: readonly string[]
  readonly values: Values
  readonly args: readonly string[]
}

function parse(argv: readonly string[]): Parsed {
  const words = looseWords(argv)
  const command = findCommand(COMMANDS, words)
  const wantsHelp = argv.includes('--help') || argv.includes('-h')
  if (words[0] === 'node') throw new UsageError('`node` comes first, with its own flags: channels node --data-dir <dir> …')
  if (!command && !wantsHelp) {
    if (words.length === 0) throw new UsageError('no command given')
    const group = subcommandsOf(COMMANDS, words[0]!)
    throw new UsageError(group.length > 0 && words.length === 1 ? `'${words[0]}' needs a subcommand: ${group.join(', ')}` : `unknown command '${words.slice(0, 2).join(' ')}'`)
  }
  const options = { ...GLOBAL_OPTIONS, ...command?.options }
  let parsed
  try {
    parsed = parseArgs({ args: [...argv], options: toParseArgs(options), strict: true, allowPositionals: true })
  } catch (error) {
    // parseArgs says what is wrong in its first sentence ("Unknown option '--foo'").
    throw new UsageError(error instanceof Error ? (error.message.split(/\.\s/)[0] ?? error.message) : String(error))
  }
  const values = parsed.values as Values
  if (!command || values.help) return { command, words, values, args: [] }
  const args = parsed.positionals.slice(command.name.split(' ').length)
  const spec = command.args ?? []
  const requiredCount = spec.filter((a) => !a.startsWith('[')).length
  if (args.length < requiredCount) throw new UsageError(`missing ${spec.slice(args.length).join(' ')}`)
  if (args.length > spec.length && command.name !== 'help') throw new UsageError(`unexpected argument '${args[spec.length]}'`)
  return { command, words, values, args }
}

/** The positionals, read with every option any command knows (so an option's value is not taken for a word). */
function looseWords(argv: readonly string[]): string[] {
  const all = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options ?? {})) as Record<string, OptionSpec>
  try {
    return parseArgs({ args: [...argv], options: toParseArgs(all), strict: false, allowPositionals: true }).positionals
  } catch {
    return argv.filter((a) => !a.startsWith('-'))
  }
}

function toParseArgs(options: Readonly<Record<string, OptionSpec>>) {
  return Object.fromEntries(Object.entries(options).map(([name, o]) => [name, o.short ? { type: o.type, short: o.short } : { type: o.type }]))
}



function parseVoucher(text: string): Voucher {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new UsageError('the voucher is not JSON: pass what `channels voucher create` printed, or - to read it from stdin')
  }
  const parsed = voucherSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new UsageError(`the voucher is not valid: ${issue ? `${issue.path.join('.') || 'voucher'}: ${issue.message}` : 'unknown shape'}`)
  }
  return parsed.data
}

function waitPlan(values: Values): { wait: boolean; timeoutMs: number } {
  return { wait: values['no-wait'] !== true, timeoutMs: timeoutSeconds(values.timeout, DEFAULT_WAIT_SECONDS) * 1000 }
}

async function readStdin(stdin: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>): Promise<string> {
  let text = ''
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    if (text.length > MAX_STDIN_BYTES) throw new UsageError(`stdin holds more than ${MAX_STDIN_BYTES} bytes: not a voucher`)
  }
  return text.trim()
}

// ---- the node's channels ----

function findLedger(client: ChannelsClient, given: ChannelIdArg): Promise<Bytes32> {
  return resolveId(given, 'ledger channel', async () => (await client.getAllLedgerChannels()).map((l) => l.channelId))
}

function findPayment(client: ChannelsClient, given: ChannelIdArg): Promise<Bytes32> {
  return resolveId(given, 'payment channel', async () => (await allPaymentChannels(client)).map((pc) => pc.channelId))
}

type ChannelIdArg = ReturnType<typeof parseChannelId>

/** A full id as is; a prefix matched against the node's channels (exactly one must match). */
async function resolveId(given: ChannelIdArg, what: string, list: () => Promise<readonly string[]>): Promise<Bytes32> {
  if (!given.prefix) return given.id as Bytes32
  const matches = (await list()).filter((id) => id.startsWith(given.id))
  if (matches.length === 1) return matches[0] as Bytes32
  if (matches.length === 0) throw new CliFailure(`no ${what} starts with ${given.id}`)
  throw new UsageError(`${given.id} is the start of ${matches.length} ${what}s: give more digits`)
}

/** Every payment channel funded through any of my ledgers (the API lists them per ledger). */
async function allPaymentChannels(client: ChannelsClient): Promise<PaymentChannelInfo[]> {
  const found = new Map<string, PaymentChannelInfo>()
  for (const ledger of await client.getAllLedgerChannels()) {
    for (const pc of await client.getPaymentChannelsByLedger(ledger.channelId)) found.set(pc.channelId, pc)
  }
  return [...found.values()]
}

// ---- output and waiting ----

function print(ctx: Context, value: unknown, text?: string): number {
  ctx.out.write(ctx.json ? `${toJson(value)}\n` : (text ?? `${String(value)}\n`))
  return 0
}

/** Prints what an open/close started; unless --no-wait, waits for its objective with progress, then says how it ended. */
async function finishObjective(ctx: Context, started: { objectiveId: string; channelId: string }, plan: { wait: boolean; timeoutMs: number }, describeDone: () => Promise<string>): Promise<number> {
  if (!ctx.json) ctx.out.write(renderFields([['objective', escapeText(started.objectiveId)], ['channel', started.channelId]]))
  if (!plan.wait) return ctx.json ? print(ctx, started) : 0
  const objective = await waitWithProgress(ctx, started.objectiveId, plan.timeoutMs)
  if (objective === 'interrupted') {
    ctx.err.write(`stopped waiting; the node goes on with ${escapeText(started.objectiveId)}\n`)
    return EXIT_INTERRUPTED
  }
  return print(ctx, { ...started, status: objective.status }, `${await describeDone()}\n`)
}

async function waitWithProgress(ctx: Context, objectiveId: string, timeoutMs: number): Promise<ObjectiveInfo | 'interrupted'> {
  const client = await ctx.client()
  const outcome = client.waitForObjective(objectiveId, { timeoutMs }).then(
    (objective) => ({ objective }),
    (error: unknown) => ({ error }),
  )
  const progress = ctx.json ? undefined : new Progress(ctx.out, `waiting for ${shortObjectiveId(objectiveId)} to complete`)
  const spinner = progress && ctx.out.isTTY ? setInterval(() => progress.tick(), SPINNER_FRAME_MS) : undefined
  ctx.interruptible = true
  try {
    for (;;) {
      const settled = await Promise.race([outcome, sleep(PROGRESS_POLL_MS, ctx.signal).then(() => undefined)])
      if (settled && 'error' in settled) throw settled.error
      if (settled) return settled.objective
      if (ctx.signal.aborted) return 'interrupted'
      // Progress is a courtesy: a failed poll changes nothing, the wait itself reports what went wrong.
      const now = await client.getObjective(objectiveId).catch((error: unknown) => ({ status: undefined, waitingFor: undefined, error }))
      if (progress && now.status) progress.update(now.waitingFor ?? now.status)
    }
  } finally {
    ctx.interruptible = false
    clearInterval(spinner)
    progress?.finish()
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts (the timer is cleared: nothing keeps the process up). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done)
  })
}

async function watch(ctx: Context, values: Values): Promise<number> {
  const topics = typeof values.topics === 'string' ? values.topics.split(',').map((t) => t.trim()).filter(Boolean) : [...TOPICS]
  const unknown = topics.filter((t) => !(TOPICS as readonly string[]).includes(t))
  if (unknown.length > 0 || topics.length === 0) throw new UsageError(`unknown topic '${unknown[0] ?? ''}' (topics: ${TOPICS.join(', ')})`)
  const chosen = [...new Set(topics)] as Topic[]
  const client = await ctx.client()
  const unsubscribe = await client.subscribe(chosen, (n) => {
    const at = new Date()
    ctx.out.write(`${ctx.json ? toJson({ time: at.toISOString(), topic: n.topic, result: n.result }) : formatNotification(n, at)}\n`)
  })
  ctx.err.write(`watching ${chosen.join(', ')} at ${ctx.connection().url} (Ctrl-C to stop)\n`)
  ctx.interruptible = true
  try {
    for (;;) {
      await sleep(WATCH_PING_MS, ctx.signal)
      if (ctx.signal.aborted) break
      try {
        await client.version()
      } catch (error) {
        throw new CliFailure(`lost the node at ${ctx.connection().url}`, {}, { cause: error })
      }
    }
  } finally {
    ctx.interruptible = false
  }
  await unsubscribe()
  return 0
}
