#!/usr/bin/env node
// The `channels` command. In a checkout (sources present) it runs them through tsx, so it is never a stale
// build; an installed package has only dist/ and runs that.
import { existsSync } from 'node:fs'
import { URL } from 'node:url'

const source = new URL('../src/cli/channels.ts', import.meta.url)
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api')
  register()
  await import(source.href)
} else {
  await import(new URL('../dist/cli/channels.js', import.meta.url).href)
}
