// The client's side of the wire contract: params encoded and answers decoded with the server's zod codecs
// (src/rpc/schemas.ts), and a JSON-RPC response unwrapped into its result or an RpcError.
import { z } from 'zod'
import { formatPath, invalidParams } from '../rpc/errors.js'
import type { MethodName, ParamsOf, ResultOf } from '../rpc/schemas.js'
import { RPC_METHODS } from '../rpc/schemas.js'
import { InvalidResponseError, RpcError } from './errors.js'

// ---- wire helpers ----

export function encodeParams<M extends MethodName>(method: M, params: ParamsOf<M>): unknown {
  const schema = RPC_METHODS[method].params as unknown as z.ZodType<ParamsOf<M>, unknown>
  try {
    return z.encode(schema, params)
  } catch (error) {
    if (!(error instanceof z.ZodError)) throw error
    const local = invalidParams(error)
    throw new RpcError(local.code, `${method}: ${local.message}`, local.data)
  }
}

export function decodeResult<M extends MethodName>(method: M, result: unknown): ResultOf<M> {
  const parsed = (RPC_METHODS[method].result as z.ZodType).safeParse(result)
  if (!parsed.success) throw new InvalidResponseError(`${method}: the answer does not match the API`, { method, issues: issuesOf(parsed.error) })
  return parsed.data as ResultOf<M>
}

const responseSchema = z.union([
  z.object({ jsonrpc: z.literal('2.0'), id: z.union([z.string(), z.number(), z.null()]), result: z.unknown() }).refine((r) => 'result' in r, 'a result'),
  z.object({ jsonrpc: z.literal('2.0'), id: z.union([z.string(), z.number(), z.null()]), error: z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() }) }),
])

/** The result of a JSON-RPC response to call `id`, or its error thrown as an RpcError. */
export function unwrap(answer: unknown, id: number, method: string): unknown {
  const parsed = responseSchema.safeParse(answer)
  if (!parsed.success) throw new InvalidResponseError(`${method}: the answer is not a JSON-RPC 2.0 response`, { method, issues: issuesOf(parsed.error) })
  const response = parsed.data
  if ('error' in response) throw new RpcError(response.error.code, response.error.message, response.error.data)
  if (response.id !== id) throw new InvalidResponseError(`${method}: the answer is for another call`, { method, expected: id, got: response.id })
  return response.result
}

export function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.slice(0, 20).map((i) => ({ path: formatPath(i.path), message: i.message }))
}

/** The file an `export_log` answer carries: JSON text as UTF-8, or MessagePack from its 0x hex. */
export function fileBytes(format: 'json' | 'msgpack', data: string): Uint8Array {
  if (format === 'json') return new Uint8Array(Buffer.from(data, 'utf8'))
  if (!/^0x(?:[0-9a-fA-F]{2})*$/.test(data)) throw new InvalidResponseError('export_log: msgpack data is not 0x hex', { method: 'export_log' })
  return new Uint8Array(Buffer.from(data.slice(2), 'hex'))
}
