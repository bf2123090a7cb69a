// Outside text printed safely (sanitize.ts): every C0 and C1 control, DEL, bidi control and line separator
// becomes a visible \uXXXX escape, ordinary text is untouched; JSON keeps its value; the streams' last guard
// lets through only the CLI's own line breaks, tabs and progress clear-line.
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { escapeJson, escapeOutput, escapeText, terminalSafe } from './sanitize.js'

const PWNED = '\u001b]0;pwned\u0007\u001b[2J'
/** What no escaped text may contain (the list in sanitize.ts, written out again here). */
const UNSAFE = (c: number) => c <= 0x1f || (c >= 0x7f && c <= 0x9f) || [0x061c, 0x200e, 0x200f, 0x2028, 0x2029].includes(c) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)
const unsafeIn = (text: string) => [...text].filter((c) => UNSAFE(c.codePointAt(0)!))

describe('escapeText', () => {
  test('a window-title and clear-screen sequence prints as visible text', () => {
    expect(escapeText(PWNED)).toBe('\\u001b]0;pwned\\u0007\\u001b[2J')
  })

  test.each([
    ['ESC', '\u001b', '\\u001b'],
    ['BEL', '\u0007', '\\u0007'],
    ['CR (overprints the line)', 'ok\rFAIL', 'ok\\u000dFAIL'],
    ['LF (forges a line)', 'x\nerror: fake', 'x\\u000aerror: fake'],
    ['TAB', 'a\tb', 'a\\u0009b'],
    ['NUL', '\u0000', '\\u0000'],
    ['DEL', '\u007f', '\\u007f'],
    ['C1 CSI (U+009B)', '\u009b2J', '\\u009b2J'],
    ['C1 OSC (U+009D)', '\u009d0;t\u009c', '\\u009d0;t\\u009c'],
    ['right-to-left override', 'evil\u202etxt.exe', 'evil\\u202etxt.exe'],
    ['left-to-right embedding', '\u202a', '\\u202a'],
    ['isolates', '\u2066\u2067\u2068\u2069', '\\u2066\\u2067\\u2068\\u2069'],
    ['marks', '\u200e\u200f\u061c', '\\u200e\\u200f\\u061c'],
    ['line and paragraph separators', '\u2028\u2029', '\\u2028\\u2029'],
  ])('%s is escaped', (_name, text, shown) => {
    expect(escapeText(text)).toBe(shown)
  })

  test('ordinary text, including non-ASCII, is untouched; escaping twice changes nothing', () => {
    for (const text of ['no_such_ledger: no ledger with the hub', 'Zoë ≈0.01 ETH …', '⠋ 支付 🎲', 'back\\slash \\u001b']) expect(escapeText(text)).toBe(text)
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        const once = escapeText(text)
        expect(unsafeIn(once)).toEqual([])
        expect(escapeText(once)).toBe(once)
      }),
    )
  })
})

describe('escapeJson', () => {
  test('keeps the JSON value, and leaves no control or bidi character raw', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 20 }), { maxKeys: 4 }), fc.constantFrom(undefined, 2), (value, indent) => {
        const json = escapeJson(JSON.stringify(value, null, indent))
        expect(JSON.parse(json)).toEqual(value)
        expect(unsafeIn(json).filter((c) => c !== '\n')).toEqual([]) // line breaks only between values, as JSON.stringify indents
      }),
    )
    expect(escapeJson(JSON.stringify({ summary: `${PWNED}\u009b\u202e` }))).toBe('{"summary":"\\u001b]0;pwned\\u0007\\u001b[2J\\u009b\\u202e"}')
  })
})

describe('the streams\' last guard', () => {
  test('lets through the CLI\'s line breaks, tabs and clear-line; escapes any other control', () => {
    expect(escapeOutput('\r\u001b[K⠋ waiting: funding\n\tdone\n')).toBe('\r\u001b[K⠋ waiting: funding\n\tdone\n')
    expect(escapeOutput(`a${PWNED}\rb\u001b[K\u202e\n`)).toBe('a\\u001b]0;pwned\\u0007\\u001b[2J\\u000db\\u001b[K\\u202e\n')
    const sink = { text: '', isTTY: true, write: (chunk: string) => (sink.text += chunk) }
    const safe = terminalSafe(sink)
    expect(safe.isTTY).toBe(true)
    safe.write(`${PWNED}\n`)
    expect(sink.text).toBe('\\u001b]0;pwned\\u0007\\u001b[2J\n')
  })
})
