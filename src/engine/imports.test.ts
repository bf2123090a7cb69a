// The engine's modules form no import circle (issue 14): each handler module gets what it shares with the
// others from lower modules (step.ts, indexes.ts, session.ts), so a reader can take them one at a time.
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const engineDir = dirname(fileURLToPath(import.meta.url))

/** Value and type imports alike: a type-only circle is still a circle for the reader. */
function localImports(file: string): string[] {
  const source = readFileSync(join(engineDir, file), 'utf8')
  const found: string[] = []
  for (const match of source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.\/[^']+)'/gm)) {
    found.push(match[1]!.replace(/^\.\//, '').replace(/\.js$/, '.ts'))
  }
  return found
}

function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>()
  const path: string[] = []
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined
    if (state.get(node) === 'visiting') return [...path.slice(path.indexOf(node)), node]
    state.set(node, 'visiting')
    path.push(node)
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next)
      if (cycle) return cycle
    }
    path.pop()
    state.set(node, 'done')
    return undefined
  }
  for (const node of graph.keys()) {
    const cycle = visit(node)
    if (cycle) return cycle
  }
  return undefined
}

describe('src/engine imports', () => {
  const files = readdirSync(engineDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  const graph = new Map(files.map((f) => [f, localImports(f)]))

  it('reads the imports it checks (the parser sees the router importing the handlers)', () => {
    expect(graph.get('router.ts')).toEqual(expect.arrayContaining(['ledgers.ts', 'virtual.ts', 'apps.ts', 'kinds.ts', 'step.ts']))
    for (const targets of graph.values()) for (const target of targets) expect(resolve(engineDir, target)).toMatch(/\.ts$/)
  })

  it('form no circle', () => {
    expect(findCycle(graph)).toBeUndefined()
  })

  it('the cycle finder finds a circle when there is one', () => {
    expect(findCycle(new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']]]))).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts'])
  })
})
