// Writes docs/openrpc.json: the API's OpenRPC 1.2 document as src/rpc/openrpc.ts builds it from the method
// table (the same document `rpc.discover` answers with). src/rpc/openrpc.test.ts fails if the committed
// file drifts from what the code builds; run this after changing a method or a schema.
//
//   npx tsx scripts/writeOpenRpc.ts
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { openRpcDocument } from '../src/rpc/methods.js'
import { renderOpenRpcDocument } from '../src/rpc/openrpc.js'

const target = fileURLToPath(new URL('../docs/openrpc.json', import.meta.url))
writeFileSync(target, renderOpenRpcDocument(openRpcDocument()))
console.log(`wrote ${target}`)
