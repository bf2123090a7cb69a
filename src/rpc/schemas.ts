// The wire contract of the node's JSON-RPC API, shared by the server (src/rpc), the typed client
// (src/client) and the OpenRPC document: for each method, a zod schema of its params and of its result.
// Each schema is a codec between the JSON form and our types (STYLE §4, §8): amounts, nonces and turn
// numbers are decimal strings on the wire and bigint in code (a JSON number is refused, never rounded);
// addresses are EIP-55 checksummed; channel ids are lowercase. The server decodes params and encodes
// results with the same schema the client uses to encode params and decode results.
import { z } from 'zod'
import { isAddress } from 'viem'
import type { Address, Bytes32, Signature } from '../core/types.js'
import { MAX_PARTICIPANTS, MAX_UINT256, MAX_UINT48, MAX_UINT64 } from '../core/limits.js'
import { APP_CHANNEL_STATUSES, LEDGER_STATUSES, PAYMENT_STATUSES } from '../engine/views.js'
export { LEDGER_STATUSES, PAYMENT_STATUSES } from '../engine/views.js'
import { MAX_APP_BYTES_PARAM, MAX_EVENTS_PER_CALL, MAX_INTERMEDIARIES, MAX_OBJECTIVE_ID_LENGTH, MAX_SUBSCRIPTION_ID_LENGTH } from './limits.js'
import { toAddress } from '../core/canonical.js'

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/
const BYTES32_RE = /^0x[0-9a-fA-F]{64}$/
const SIGNATURE_RE = /^0x[0-9a-fA-F]{130}$/
const DECIMAL_RE = /^(?:0|[1-9][0-9]*)$/

/** A message naming what was expected, and saying so plainly when a JSON number came instead of a string. */
function expectedString(what: string) {
  return (issue: { input?: unknown }) => {
    if (issue.input === undefined) return 'required'
    if (typeof issue.input === 'number') return `expected ${what}, got a JSON number (send a string: numbers lose precision above 2^53)`
    return `expected ${what}`
  }
}

// ---- primitives ----

/** A refine sees the raw input where a field failed its own schema: guard arithmetic on the parsed type. */
const isBigint = (v: unknown): v is bigint => typeof v === 'bigint'

export const addressSchema = z
  .codec(
    z
      .string({ error: expectedString('a 0x-prefixed 20-byte hex address') })
      .regex(ADDRESS_RE, 'must be a 0x-prefixed 20-byte hex address')
      .refine((s) => !ADDRESS_RE.test(s) || isAddress(s), 'has an invalid EIP-55 checksum (use all lowercase or the checksummed form)'),
    z.custom<Address>((v) => typeof v === 'string' && ADDRESS_RE.test(v) && isAddress(v), 'must be an address'),
    { decode: (s) => toAddress(s), encode: (a) => toAddress(a) },
  )
  .describe('A 20-byte address as 0x-prefixed hex; lowercase or EIP-55 checksummed. Answers are checksummed.')

// 32-byte values and signatures come in any hex case and leave lowercase (their canonical form, core/canonical.ts).
function hexCodec<T extends `0x${string}`>(re: RegExp, what: string) {
  return z.codec(
    z.string({ error: expectedString(what) }).regex(re, `must be ${what}`),
    z.custom<T>((v) => typeof v === 'string' && re.test(v), `must be ${what}`),
    { decode: (s) => s.toLowerCase() as T, encode: (h) => h.toLowerCase() as T },
  )
}

export const bytes32Schema = hexCodec<Bytes32>(BYTES32_RE, '0x-prefixed 32-byte hex').describe(
  'A channel id (or another 32-byte value) as 0x-prefixed hex, 64 digits. Answers are lowercase.',
)
export const signatureSchema = hexCodec<Signature>(SIGNATURE_RE, 'a 0x-prefixed 65-byte signature (r, s, v)').describe(
  'A 65-byte secp256k1 signature r ‖ s ‖ v as 0x-prefixed hex, v ∈ {27, 28}.',
)

/** An unsigned integer as a canonical decimal string: digits only, no sign, point, exponent or leading zero. */
function decimalCodec(max: bigint, what: string) {
  const maxDigits = max.toString().length
  return z.codec(
    z
      .string({ error: expectedString('a decimal string') })
      .max(maxDigits, `${what} has more than ${maxDigits} digits`)
      .regex(DECIMAL_RE, `${what} must be a decimal integer: digits only, no sign, point, exponent or leading zeros`)
      .refine((s) => s.length > maxDigits || !DECIMAL_RE.test(s) || BigInt(s) <= max, `${what} must be at most ${max}`),
    z.bigint().min(0n).max(max),
    { decode: (s) => BigInt(s), encode: (n) => n.toString() },
  )
}

export const amountSchema = decimalCodec(MAX_UINT256, 'amount').describe(
  'An amount in base units (wei, token units) as a decimal string, 0 ≤ amount < 2^256. JSON numbers are refused.',
)
export const nonceSchema = decimalCodec(MAX_UINT64, 'nonce').describe('A channel nonce as a decimal string, 0 ≤ nonce < 2^64.')
export const turnNumSchema = decimalCodec(MAX_UINT48, 'turnNum').describe('A turn number as a decimal string, 0 ≤ turnNum < 2^48.')
export const appFundingSchema = z
  .enum(['none', 'direct', 'ledger'])
  .describe('`direct`: each participant deposits its share on chain, in participant order; `ledger`: two participants lock their shares in a guarantee on their ledger channel; `none`: nothing is held (the outcome is a score).')

export const moveTimeoutSchema = z
  .number({ error: 'moveTimeout must be a number of seconds' })
  .int('moveTimeout must be an integer')
  .min(0, 'moveTimeout must not be negative')
  .max(Number(MAX_UINT48), 'moveTimeout must be below 2^48')
  .describe('Seconds a participant has to move before the app\'s timeout event may be submitted against it; 0: never. Default 300.')

export const challengeDurationSchema = z
  .number({ error: 'challengeDuration must be a number of seconds' })
  .int('challengeDuration must be an integer')
  .min(1, 'challengeDuration must be at least 1 second')
  .max(Number(MAX_UINT48), 'challengeDuration must be below 2^48')
  .describe('Seconds a challenge on chain stays open (default 86400). A JSON number: it is not an on-chain value of any size.')
export const seqSchema = decimalCodec(MAX_UINT64, 'seq').describe('An event\'s position in a channel log as a decimal string; 1 is the genesis.')

const HEX_BYTES_RE = /^0x(?:[0-9a-fA-F]{2})*$/
/** Bytes as 0x-prefixed hex (an even number of digits, `0x` for none) ↔ Uint8Array. */
function hexBytesCodec(maxBytes?: number) {
  const text = z.string({ error: expectedString('0x-prefixed hex bytes') })
  return z.codec(
    (maxBytes === undefined ? text : text.max(2 + 2 * maxBytes, `at most ${maxBytes} bytes`)).regex(HEX_BYTES_RE, 'must be 0x-prefixed hex with an even number of digits'),
    z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes'),
    { decode: (s) => new Uint8Array(Buffer.from(s.slice(2), 'hex')), encode: (b) => `0x${Buffer.from(b).toString('hex')}` },
  )
}
export const hexBytesSchema = hexBytesCodec(MAX_APP_BYTES_PARAM).describe('Bytes as 0x-prefixed hex, an even number of digits (`0x` for none).')
/** In answers: as long as the node has them (an exported log is bounded by the app layer, not here). */
const hexBytesOutSchema = hexBytesCodec().describe('Bytes as 0x-prefixed hex.')

export const objectiveIdSchema = z
  .string({ error: expectedString('an objective id') })
  .min(1, 'an objective id is not empty')
  .max(MAX_OBJECTIVE_ID_LENGTH, `an objective id has at most ${MAX_OBJECTIVE_ID_LENGTH} characters`)
  .describe('An objective id, e.g. `directfund:<channelId>` or `virtualfund:<channelId>`.')

export const TOPICS = ['objective_completed', 'objective_failed', 'ledger_channel_updated', 'payment_channel_updated', 'app_channel_updated'] as const
export type Topic = (typeof TOPICS)[number]
export const topicSchema = z.enum(TOPICS).describe('A notification topic.')
export const subscriptionIdSchema = z
  .string({ error: expectedString('a subscription id') })
  .min(1)
  .max(MAX_SUBSCRIPTION_ID_LENGTH)
  .describe('The id `subscribe` returned.')

// ---- views ----

/** Strict inside params (a misspelt field is an error); lenient in answers (a newer server may add fields). */
const voucherShape = { channelId: bytes32Schema, amount: amountSchema, signature: signatureSchema }
export const voucherSchema = z.object(voucherShape).describe('A voucher: the payer\'s signature on the cumulative amount paid in a payment channel.')
const voucherParamSchema = z.strictObject(voucherShape).describe('A voucher as `pay` or `create_voucher` returned it.')

export const guaranteeSchema = z
  .object({ target: bytes32Schema, amount: amountSchema, left: bytes32Schema, right: bytes32Schema })
  .describe('Funds of a ledger channel locked for a payment channel (`target`), between the `left` and `right` destinations.')

export const ledgerChannelInfoSchema = z
  .object({
    channelId: bytes32Schema,
    status: z.enum(LEDGER_STATUSES),
    participants: z.array(addressSchema).describe('[leader, follower]'),
    leader: addressSchema,
    follower: addressSchema,
    myRole: z.enum(['leader', 'follower']),
    counterparty: addressSchema,
    asset: addressSchema,
    nonce: nonceSchema,
    challengeDuration: z.number(),
    turnNum: turnNumSchema,
    myBalance: amountSchema,
    theirBalance: amountSchema,
    guarantees: z.array(guaranteeSchema),
    holdings: amountSchema.describe('What the adjudicator holds for this channel, as this node last saw on chain.'),
  })
  .describe('A ledger channel as this node sees it: the supported state while open; the prefund while funding; the final state once closed.')

export const paymentChannelInfoSchema = z
  .object({
    channelId: bytes32Schema,
    status: z.enum(PAYMENT_STATUSES),
    role: z.enum(['payer', 'payee', 'intermediary']),
    payer: addressSchema,
    payee: addressSchema,
    intermediaries: z.array(addressSchema),
    asset: addressSchema,
    startingBalance: amountSchema.describe('What the payer put in: the most the vouchers can add up to.'),
    paid: amountSchema.describe('Largest cumulative voucher sent (payer) or received (payee); intermediaries learn it at close.'),
    remaining: amountSchema,
    voucher: voucherSchema.nullable(),
  })
  .describe('A virtual payment channel as this node sees it.')

export const OBJECTIVE_STATUSES = ['unapproved', 'approved', 'completed', 'rejected', 'failed'] as const
export const objectiveInfoSchema = z
  .object({
    id: z.string(),
    kind: z.string().describe('directfund, directdefund, ledgerUpdate, virtualfund, virtualdefund, appfund or appdefund.'),
    status: z.enum(OBJECTIVE_STATUSES),
    waitingFor: z.string().nullable().describe('Where the objective stopped (derived); null when unknown or done.'),
    failure: z.object({ code: z.string(), summary: z.string() }).nullable(),
    channelId: bytes32Schema.describe('The channel the objective works on (for a ledgerUpdate, its ledger).'),
  })
  .describe('One protocol run toward a goal, and how far it got.')

export const disputeInfoSchema = z
  .object({
    objectiveId: z.string().describe('`appdispute:<channelId>`.'),
    channelId: bytes32Schema,
    channel: z.enum(['ledger', 'payment', 'app']).describe('What is disputed: a ledger channel, a payment channel, or an app channel.'),
    status: z.enum(OBJECTIVE_STATUSES),
    waitingFor: z.string().nullable().describe('challenge, finalization, target (a channel a guarantee funds must finalize too), reclaim, payout, or nothing; null once done.'),
    turnNum: turnNumSchema.describe('The turn of the state the node registers or defends (its best: signed by all, a final state, or the payee\'s redemption).'),
    challengeSubmitted: z.boolean().describe('Whether a challenge with that state is on chain (mine, or one at my turn).'),
    registeredTurnNum: turnNumSchema.nullable().describe('The turn the chain registered (mine, or a later one someone else registered, which the node follows); null until the chain reports it.'),
    finalizesAt: z.string().regex(/^\d+$/).nullable().describe('Chain time (seconds) the registered challenge finalizes at, as a decimal string; null until the chain reports it.'),
    paidOut: z.boolean().describe('The chain paid the channel out after the challenge.'),
    failures: z.number().int().min(0).describe('Transactions the chain refused so far.'),
    failure: z.object({ code: z.string(), summary: z.string() }).nullable(),
  })
  .describe('A dispute the node runs on chain: a challenge it registered, or one it answers or follows to the payout.')

export const appEventSchema = z
  .object({
    seq: seqSchema,
    kind: z.string().describe('`app.genesis` for seq 1 (the definition), `app.event` for a participant\'s event.'),
    author: addressSchema.describe('The participant who proposed the event.'),
    payload: hexBytesOutSchema,
    prevHash: bytes32Schema,
    hash: bytes32Schema.describe('keccak256(prevHash ‖ encoded event): the log\'s hash chain.'),
  })
  .describe('One fully signed event of an app channel\'s hash-chained log.')

export const turnSchema = z.union([z.number().int().min(0), z.literal('anyone'), z.literal('nobody')]).describe('Whose turn: a participant index, `anyone` or `nobody` (final).')

export const appChannelInfoSchema = z
  .object({
    channelId: bytes32Schema,
    participants: z.array(addressSchema),
    appId: bytes32Schema,
    asset: addressSchema,
    deposits: z.array(amountSchema).describe('What each participant put in, by participant index.'),
    funding: appFundingSchema,
    status: z
      .enum(APP_CHANNEL_STATUSES)
      .describe('`opening` until turn 0 is signed by all; `funding` until the deposits are held (objective `appfund:<channelId>`); `open`; `closing` once the app is final (objective `appdefund:<channelId>`); `disputing` while settled on chain (objective `appdispute:<channelId>`); `closed`; `failed` (the objective says why, or `pending.refusedBy` for an opening a participant refused).'),
    moveTimeout: z.number().int().min(0).describe('Seconds a participant has to move before a timeout event may be submitted against it; 0: never.'),
    turnNum: turnNumSchema.nullable().describe('The latest turn signed by every participant; null until turn 0 is.'),
    head: z.object({ seq: seqSchema, hash: bytes32Schema }).nullable().describe('The log\'s last fully signed event.'),
    pending: z
      .object({
        turnNum: turnNumSchema,
        author: addressSchema,
        missing: z.array(z.number().int().min(0)).describe('Participant indexes whose signature it lacks.'),
        refusedBy: z
          .array(z.object({ participant: z.number().int().min(0), code: z.string() }))
          .describe('Participants whose node said it refused this proposal, with its error code (e.g. app_declined, app_rejected); a best-effort notice, so it may be missing.'),
      })
      .nullable()
      .describe('The turn being signed, if any.'),
    appState: hexBytesOutSchema.nullable().describe('The app state after the latest fully signed turn.'),
    whoseTurn: turnSchema.nullable().describe('null when this node does not run the app or nothing is signed yet.'),
    isFinal: z.boolean(),
    outcome: z.array(amountSchema).describe('What each participant is paid under the latest fully signed state.'),
  })
  .describe('An app channel as this node sees it.')

export const appStateAtSchema = z
  .object({ seq: seqSchema, appState: hexBytesOutSchema, appStateHash: bytes32Schema.describe('keccak256 of appState.') })
  .describe('The app state after event `seq`, replayed through the app.')

export const appStateDiffSchema = z
  .object({ from: appStateAtSchema, to: appStateAtSchema, events: z.array(appEventSchema).describe('The events after `from` up to and including `to`, with their authors.') })
  .describe('Two states of an app channel and the events that lead from one to the other.')

export const EXPORT_FORMATS = ['json', 'msgpack'] as const
export const exportedLogSchema = z
  .object({ format: z.enum(EXPORT_FORMATS), data: z.string().describe('The file: JSON text, or MessagePack as 0x hex.') })
  .describe('An app channel\'s exported log, as `channels verify` reads it.')

export const nodeInfoSchema = z
  .object({
    address: addressSchema,
    version: z.string(),
    chainId: z.number().int().nullable(),
    peerId: z.string().nullable(),
    multiaddrs: z.array(z.string()),
  })
  .describe('Who this node is: its channel address, software version, chain and transport identity.')

export const rejectionsSchema = z
  .object({
    counts: z.record(z.string(), z.number().int().nonnegative()).describe('Refusals by error code: those handled since the store was created, plus messages refused at admission since the node started.'),
    recent: z
      .array(z.object({ code: z.string(), summary: z.string(), from: addressSchema.nullable().describe('The peer whose input it was; null for a chain event or timer.') }))
      .describe('The latest refusals, oldest first (at most 100).'),
  })
  .describe('What this node refused from peers, the chain and its timers: each a typed code (docs/security.md lists them).')

export const channelStartedSchema = z
  .object({ objectiveId: z.string(), channelId: bytes32Schema })
  .describe('The objective that opens the channel, and the channel\'s id.')
export const objectiveStartedSchema = z.object({ objectiveId: z.string() }).describe('The objective that was started.')

export const openRpcDocumentSchema = z
  .looseObject({ openrpc: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), methods: z.array(z.looseObject({ name: z.string() })) })
  .describe('An OpenRPC 1.2 document.')

export type Voucher = z.output<typeof voucherSchema>
export type LedgerChannelInfo = z.output<typeof ledgerChannelInfoSchema>
export type PaymentChannelInfo = z.output<typeof paymentChannelInfoSchema>
export type ObjectiveInfo = z.output<typeof objectiveInfoSchema>
export type DisputeInfo = z.output<typeof disputeInfoSchema>
export type NodeInfo = z.output<typeof nodeInfoSchema>
export type Rejections = z.output<typeof rejectionsSchema>
export type { LedgerStatus, PaymentChannelStatus } from '../engine/views.js'
export type AppChannelInfo = z.output<typeof appChannelInfoSchema>
export type AppEvent = z.output<typeof appEventSchema>
export type AppStateAt = z.output<typeof appStateAtSchema>
export type AppStateDiff = z.output<typeof appStateDiffSchema>
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

// ---- methods ----

const noParams = () => z.strictObject({})
const channelIdParams = () => z.strictObject({ channelId: bytes32Schema })
const channelAmountParams = () =>
  z.strictObject({ channelId: bytes32Schema, amount: amountSchema.refine((n) => n > 0n, 'amount must be positive').describe('How much more to pay (not cumulative).') })

/** Every method: its params (by name) and its result. The server's table (methods.ts) adds handlers. */
export const RPC_METHODS = {
  get_address: { params: noParams(), result: addressSchema },
  version: { params: noParams(), result: z.string() },
  get_node_info: { params: noParams(), result: nodeInfoSchema },
  get_rejections: { params: noParams(), result: rejectionsSchema },
  create_ledger_channel: {
    params: z.strictObject({
      counterparty: addressSchema,
      asset: addressSchema.optional().describe('The asset: 0x0000000000000000000000000000000000000000 (ETH, the default) or an ERC20 token.'),
      myDeposit: amountSchema,
      theirDeposit: amountSchema,
      nonce: nonceSchema.optional().describe('The channel nonce; by default a fresh one from the node.'),
      challengeDuration: challengeDurationSchema.optional(),
    }),
    result: channelStartedSchema,
  },
  close_ledger_channel: { params: channelIdParams(), result: objectiveStartedSchema },
  get_ledger_channel: { params: channelIdParams(), result: ledgerChannelInfoSchema },
  get_all_ledger_channels: { params: noParams(), result: z.array(ledgerChannelInfoSchema) },
  list_disputes: { params: noParams(), result: z.array(disputeInfoSchema) },
  export_watchtower_handover: {
    params: noParams(),
    result: z.object({ document: z.string().describe('The hand-over file (channels-watchtower/1), one line of JSON.'), channels: z.number().int().min(0).describe('How many channels it holds.') }),
  },
  create_payment_channel: {
    params: z.strictObject({
      counterparty: addressSchema,
      intermediaries: z.array(addressSchema).max(MAX_INTERMEDIARIES).optional().describe('The hubs between us, in path order; none: over our direct ledger.'),
      asset: addressSchema.optional().describe('The asset; default ETH (the zero address).'),
      amount: amountSchema,
      nonce: nonceSchema.optional().describe('The channel nonce; by default a fresh one from the node.'),
      challengeDuration: challengeDurationSchema.optional(),
    }),
    result: channelStartedSchema,
  },
  close_payment_channel: { params: channelIdParams(), result: objectiveStartedSchema },
  pay: { params: channelAmountParams(), result: voucherSchema },
  create_voucher: { params: channelAmountParams(), result: voucherSchema },
  receive_voucher: { params: z.strictObject({ voucher: voucherParamSchema }), result: paymentChannelInfoSchema },
  get_payment_channel: { params: channelIdParams(), result: paymentChannelInfoSchema },
  get_payment_channels_by_ledger: { params: z.strictObject({ ledgerId: bytes32Schema }), result: z.array(paymentChannelInfoSchema) },
  get_objective: { params: z.strictObject({ objectiveId: objectiveIdSchema }), result: objectiveInfoSchema },
  subscribe: {
    params: z.strictObject({
      topics: z
        .array(topicSchema)
        .min(1, 'name at least one topic')
        .max(TOPICS.length)
        .refine((topics) => new Set(topics).size === topics.length, 'topics must be distinct'),
    }),
    result: subscriptionIdSchema,
  },
  unsubscribe: { params: z.strictObject({ subscription: subscriptionIdSchema }), result: z.boolean().describe('false if no such subscription') },
  create_app_channel: {
    params: z.strictObject({
      participants: z.array(addressSchema).min(2).max(MAX_PARTICIPANTS).describe('Every participant in order, this node included.'),
      appId: bytes32Schema.describe('The app module\'s id (see apps/build/manifest.json).'),
      params: hexBytesSchema.describe('The app\'s parameters, as the app reads them.'),
      deposits: z.array(amountSchema).min(2).max(MAX_PARTICIPANTS).describe('What each participant puts in, by participant index.'),
      funding: appFundingSchema.optional().describe('How the deposits reach the adjudicator; default `direct` when any deposit is non-zero, else `none`.'),
      moveTimeout: moveTimeoutSchema.optional(),
      asset: addressSchema.optional().describe('The asset; default ETH (the zero address).'),
      nonce: nonceSchema.optional().describe('The channel nonce; by default a fresh one from the node.'),
      challengeDuration: challengeDurationSchema.optional(),
    }),
    result: z.object({ channelId: bytes32Schema }).describe('The new app channel\'s id.'),
  },
  close_app_channel: {
    params: z.strictObject({ channelId: bytes32Schema }),
    result: z.object({ objectiveId: z.string() }).describe('The close (`appdefund:<channelId>`): every participant signs the concluding state, then the deposits are paid out.'),
  },
  challenge_ledger_channel: {
    params: z.strictObject({ channelId: bytes32Schema }),
    result: z.object({ objectiveId: z.string() }).describe('The dispute (`appdispute:<channelId>`): challenge with the ledger\'s supported state, then the payout once it finalizes.'),
  },
  challenge_payment_channel: {
    params: z.strictObject({ channelId: bytes32Schema }),
    result: z.object({ objectiveId: z.string() }).describe('The payment channel\'s dispute (`appdispute:<channelId>`); each guaranteeing ledger has its own (`appdispute:<ledgerId>`).'),
  },
  challenge_app_channel: {
    params: z.strictObject({ channelId: bytes32Schema }),
    result: z.object({ objectiveId: z.string() }).describe('The dispute (`appdispute:<channelId>`): challenge with the latest state signed by all, then the payout once it finalizes.'),
  },
  submit_event: {
    params: z.strictObject({ channelId: bytes32Schema, event: hexBytesSchema.describe('The event, as the app reads it.') }),
    result: z.object({ seq: seqSchema, turnNum: turnNumSchema }).describe('Where the event lands once every participant signs it.'),
  },
  get_app_state: { params: channelIdParams(), result: appChannelInfoSchema },
  get_events: {
    params: z
      .strictObject({ channelId: bytes32Schema, fromSeq: seqSchema.optional().describe('Default 1.'), toSeq: seqSchema.optional().describe(`Default fromSeq + ${MAX_EVENTS_PER_CALL - 1}.`) })
      // zod runs these even when a seq failed its own check (then it is still the raw input): compare bigints only.
      .refine((p) => !isBigint(p.fromSeq) || !isBigint(p.toSeq) || p.fromSeq <= p.toSeq, { message: 'fromSeq must be at most toSeq', path: ['toSeq'] })
      .refine((p) => !isBigint(p.toSeq) || p.toSeq - (isBigint(p.fromSeq) ? p.fromSeq : 1n) < BigInt(MAX_EVENTS_PER_CALL), { message: `at most ${MAX_EVENTS_PER_CALL} events per call`, path: ['toSeq'] }),
    result: z.array(appEventSchema),
  },
  get_state_at: { params: z.strictObject({ channelId: bytes32Schema, seq: seqSchema }), result: appStateAtSchema },
  get_state_diff: {
    params: z
      .strictObject({ channelId: bytes32Schema, fromSeq: seqSchema, toSeq: seqSchema })
      .refine((p) => !isBigint(p.fromSeq) || !isBigint(p.toSeq) || p.fromSeq <= p.toSeq, { message: 'fromSeq must be at most toSeq', path: ['toSeq'] })
      .refine((p) => !isBigint(p.fromSeq) || !isBigint(p.toSeq) || p.toSeq - p.fromSeq <= BigInt(MAX_EVENTS_PER_CALL), { message: `at most ${MAX_EVENTS_PER_CALL} events apart`, path: ['toSeq'] }),
    result: appStateDiffSchema,
  },
  export_log: {
    params: z.strictObject({ channelId: bytes32Schema, format: z.enum(EXPORT_FORMATS).optional().describe('json (default) or msgpack.') }),
    result: exportedLogSchema,
  },
  'rpc.discover': { params: noParams(), result: openRpcDocumentSchema },
} as const

export type MethodName = keyof typeof RPC_METHODS
export type ParamsOf<M extends MethodName> = z.output<(typeof RPC_METHODS)[M]['params']>
export type ResultOf<M extends MethodName> = z.output<(typeof RPC_METHODS)[M]['result']>

/** What each topic's notifications carry in `params.result`. */
export const NOTIFICATION_RESULTS = {
  objective_completed: objectiveInfoSchema,
  objective_failed: objectiveInfoSchema,
  ledger_channel_updated: ledgerChannelInfoSchema,
  payment_channel_updated: paymentChannelInfoSchema,
  app_channel_updated: appChannelInfoSchema,
} as const satisfies Record<Topic, z.ZodType>
export type NotificationResult<T extends Topic> = z.output<(typeof NOTIFICATION_RESULTS)[T]>

/** The schemas worth a name in the OpenRPC document's components. */
export const NAMED_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  Address: addressSchema,
  Bytes32: bytes32Schema,
  Signature: signatureSchema,
  Amount: amountSchema,
  Nonce: nonceSchema,
  TurnNum: turnNumSchema,
  ChallengeDuration: challengeDurationSchema,
  Topic: topicSchema,
  SubscriptionId: subscriptionIdSchema,
  ObjectiveId: objectiveIdSchema,
  Voucher: voucherSchema,
  Guarantee: guaranteeSchema,
  LedgerChannelInfo: ledgerChannelInfoSchema,
  PaymentChannelInfo: paymentChannelInfoSchema,
  ObjectiveInfo: objectiveInfoSchema,
  NodeInfo: nodeInfoSchema,
  Rejections: rejectionsSchema,
  Seq: seqSchema,
  HexBytes: hexBytesSchema,
  AppEvent: appEventSchema,
  AppChannelInfo: appChannelInfoSchema,
  AppStateAt: appStateAtSchema,
  AppStateDiff: appStateDiffSchema,
  ExportedLog: exportedLogSchema,
  ChannelStarted: channelStartedSchema,
  ObjectiveStarted: objectiveStartedSchema,
}
