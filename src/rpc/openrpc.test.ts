// The OpenRPC document: docs/openrpc.json is what the code builds (regenerate with
// `npx tsx scripts/writeOpenRpc.ts`), and the document describes every method of the table.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { METHOD_TABLE, openRpcDocument } from './methods.js'
import { OPENRPC_VERSION, renderOpenRpcDocument } from './openrpc.js'
import { TOPICS } from './schemas.js'

const committed = fileURLToPath(new URL('../../docs/openrpc.json', import.meta.url))

test('docs/openrpc.json is what openrpc.ts builds (run scripts/writeOpenRpc.ts after changing the API)', () => {
  expect(readFileSync(committed, 'utf8')).toBe(renderOpenRpcDocument(openRpcDocument()))
})

test('every method is documented with by-name params, a result and its errors', () => {
  const document = openRpcDocument()
  expect(document.openrpc).toBe(OPENRPC_VERSION)
  expect(document.methods.map((m) => m.name)).toEqual([...METHOD_TABLE.keys()])
  for (const method of document.methods) {
    expect(method, method.name).toMatchObject({ paramStructure: 'by-name', summary: expect.any(String), result: { name: 'result', schema: expect.any(Object) } })
    expect(method.errors, method.name).toContainEqual({ $ref: '#/components/errors/Unauthorized' })
  }
  const pay = document.methods.find((m) => m.name === 'pay')!
  expect(pay.params).toEqual([
    { name: 'channelId', required: true, schema: { $ref: '#/components/schemas/Bytes32' } },
    { name: 'amount', required: true, schema: expect.objectContaining({ description: expect.any(String) }) },
  ])
})

test('every $ref resolves inside the document', () => {
  const document = openRpcDocument()
  const refs = JSON.stringify(document).match(/"\$ref":"[^"]+"/g) ?? []
  expect(refs.length).toBeGreaterThan(0)
  for (const ref of new Set(refs)) {
    const path = ref.slice('"$ref":"#/'.length, -1).split('/')
    let node: unknown = document
    for (const key of path) node = (node as Record<string, unknown> | undefined)?.[key]
    expect(node, ref).toBeDefined()
  }
})

test('amounts are documented as decimal strings, and every topic has its notification', () => {
  const { components } = openRpcDocument()
  expect(components.schemas.Amount).toMatchObject({ type: 'string', pattern: expect.any(String) })
  expect(components.errors.Refused).toEqual({ code: -32003, message: 'refused' })
  const notifications = openRpcDocument()['x-notifications'] as { name: string }[]
  expect(notifications.map((n) => n.name)).toEqual([...TOPICS])
})
