// The API's OpenRPC 1.2 document (https://spec.open-rpc.org/), built from the method table: each method's
// params and result are the JSON Schema (draft-07) of the wire side of its zod codecs, shared shapes are
// named under components.schemas, errors under components.errors. `rpc.discover` answers with it;
// scripts/writeOpenRpc.ts writes it to docs/openrpc.json and a test keeps that file from drifting.
import { z } from 'zod'
import type { RpcErrorCodeValue } from './errors.js'
import { RPC_ERROR_MESSAGES, RpcErrorCode } from './errors.js'
import { NAMED_SCHEMAS, NOTIFICATION_RESULTS, TOPICS } from './schemas.js'

/** The API's version (semver: the major changes with any incompatible change), not the node's software version. */
export const API_VERSION = '0.1.0'
export const OPENRPC_VERSION = '1.2.6'

export interface OpenRpcMethodSource {
  readonly name: string
  readonly summary: string
  readonly description?: string
  readonly errors: readonly RpcErrorCodeValue[]
  readonly params: z.ZodObject
  readonly result: z.ZodType
}

type JsonSchema = Record<string, unknown>

export interface OpenRpcDocument {
  readonly openrpc: string
  readonly info: { readonly title: string; readonly version: string; readonly description: string }
  readonly methods: { readonly name: string; readonly [key: string]: unknown }[]
  readonly components: { readonly schemas: Record<string, JsonSchema>; readonly errors: Record<string, { code: number; message: string }> }
  /** Specification extensions (`x-notifications`). */
  readonly [key: string]: unknown
}

const DESCRIPTION =
  'JSON-RPC 2.0 over HTTP POST and WebSocket on one port. Every call carries `Authorization: Bearer <secret>` ' +
  '(on the WebSocket: on the upgrade request). Amounts and nonces are decimal strings. Params are passed by name. ' +
  'Notifications (WebSocket only, after `subscribe`) are listed under x-notifications. See docs/api.md.'

const REF = (id: string) => `#/components/schemas/${id}`
const ERROR_REF = (code: RpcErrorCodeValue) => ({ $ref: `#/components/errors/${errorName(code)}` })

/** Every method's documented errors: a call can always be refused for auth, params or our own bug. */
const COMMON_ERRORS: readonly RpcErrorCodeValue[] = [RpcErrorCode.unauthorized, RpcErrorCode.invalidParams, RpcErrorCode.internalError]

export function buildOpenRpcDocument(methods: readonly OpenRpcMethodSource[]): OpenRpcDocument {
  // One registry per build: the named shapes, plus each method's params and unnamed result under a
  // temporary id, so everything is generated in one pass with $refs between them.
  const registry = z.registry<{ id: string }>()
  const named = new Map<z.ZodType, string>()
  for (const [id, schema] of Object.entries(NAMED_SCHEMAS)) {
    registry.add(schema, { id })
    named.set(schema, id)
  }
  for (const m of methods) {
    registry.add(m.params, { id: `${m.name}.params` })
    if (!named.has(m.result)) registry.add(m.result, { id: `${m.name}.result` })
  }
  const generated = z.toJSONSchema(registry, { io: 'input', target: 'draft-07', uri: REF, unrepresentable: 'any' }).schemas as Record<string, JsonSchema>
  const schemas = Object.fromEntries(Object.entries(generated).map(([id, s]) => [id, stripMeta(s)]))

  const methodObjects = methods.map((m) => {
    const params = schemas[`${m.name}.params`]!
    const properties = (params.properties ?? {}) as Record<string, JsonSchema>
    const required = new Set((params.required ?? []) as string[])
    const resultId = named.get(m.result)
    return {
      name: m.name,
      summary: m.summary,
      ...(m.description !== undefined ? { description: m.description } : {}),
      paramStructure: 'by-name',
      params: Object.entries(properties).map(([name, schema]) => ({ name, required: required.has(name), schema })),
      result: { name: 'result', schema: resultId ? { $ref: REF(resultId) } : schemas[`${m.name}.result`]! },
      errors: [...new Set([...COMMON_ERRORS, ...m.errors])].map(ERROR_REF),
    }
  })
  for (const m of methods) {
    delete schemas[`${m.name}.params`]
    delete schemas[`${m.name}.result`]
  }

  const errors = Object.fromEntries(
    (Object.values(RpcErrorCode) as RpcErrorCodeValue[]).map((code) => [errorName(code), { code, message: RPC_ERROR_MESSAGES[code] }]),
  )
  const notifications = TOPICS.map((topic) => ({
    name: topic,
    params: [
      { name: 'subscription', required: true, schema: { type: 'string' } },
      { name: 'result', required: true, schema: { $ref: REF(named.get(NOTIFICATION_RESULTS[topic])!) } },
    ],
  }))
  return {
    openrpc: OPENRPC_VERSION,
    info: { title: 'Channels node API', version: API_VERSION, description: DESCRIPTION },
    methods: methodObjects,
    components: { schemas, errors },
    'x-notifications': notifications,
  }
}

/** Draft-07 generation marks each component with $schema and $id; inside an OpenRPC document they are noise. */
function stripMeta(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema
  return rest
}

/** -32602 → 'InvalidParams': the key of RpcErrorCode, capitalised. */
function errorName(code: RpcErrorCodeValue): string {
  const key = (Object.keys(RpcErrorCode) as (keyof typeof RpcErrorCode)[]).find((k) => RpcErrorCode[k] === code)!
  return key[0]!.toUpperCase() + key.slice(1)
}

/** The document as committed in docs/openrpc.json: two-space JSON and a final newline. */
export function renderOpenRpcDocument(document: OpenRpcDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`
}
