// Text that came from outside — a peer (refusal codes, failure summaries), the chain, the node's answers, a
// log file someone handed over — printed without letting it drive the terminal (issue 13). A terminal obeys
// escape sequences in what it prints: ESC ] 0 ; … BEL retitles the window, ESC [ 2 J clears the screen,
// other sequences move the cursor to overwrite earlier lines, some terminals let OSC sequences write the
// clipboard or open links; CR returns to the line's start to overprint it, LF starts a line that looks like
// the CLI's own; Unicode bidi controls reorder what is shown (Trojan Source, CVE-2021-42574). So every such
// character in outside text is shown as a visible escape, `\u001b`, and the text stays one line:
//
//   C0 controls U+0000–U+001F (ESC, BEL, CR, LF, TAB, …), DEL U+007F, C1 controls U+0080–U+009F (U+009B
//   is a one-character CSI on some terminals), the bidi controls U+061C, U+200E, U+200F, U+202A–U+202E,
//   U+2066–U+2069, and the line and paragraph separators U+2028, U+2029.
//
// escapeText is applied to each outside string where the CLI renders it (format.ts, commands.ts,
// appCommands.ts, verify.ts); the CLI's own line breaks and progress codes are added afterwards, around it.
// `--json` output is JSON.stringify's (which escapes C0 inside strings) passed through escapeJson for the
// rest. terminalSafe is the last guard on the CLI's streams: whatever a future change forgets to escape,
// only the CLI's own line breaks, tabs and progress line-clearing reach the terminal.

/** Every character escaped in outside text (see the module comment). */
// eslint-disable-next-line no-control-regex -- finding control characters is this module's purpose
const UNSAFE_RE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g
/** The same less C0: what JSON.stringify leaves raw inside strings (outside them it writes only ASCII structure). */
const UNSAFE_IN_JSON_RE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g
/** escapeOutput's pass: the CLI's own clear-line (CR ESC [ K, Progress's) or line break or tab, else one unsafe character. */
// eslint-disable-next-line no-control-regex -- as above
const OUTPUT_RE = /\r\u001b\[K|[\n\t]|[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

function escapeChar(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/**
 * Outside text as one printable line: control, bidi and line-separator characters become visible escapes.
 * @example escapeText('\u001b]0;pwned\u0007') === '\\u001b]0;pwned\\u0007'
 */
export function escapeText(text: string): string {
  return text.replace(UNSAFE_RE, escapeChar)
}

/** JSON text with the characters JSON.stringify leaves raw escaped as \uXXXX: the same JSON value, safe to print. */
export function escapeJson(json: string): string {
  return json.replace(UNSAFE_IN_JSON_RE, escapeChar)
}

/** Text the CLI composed, with every unsafe character escaped except the CLI's own line breaks, tabs and clear-line. */
export function escapeOutput(text: string): string {
  return text.replace(OUTPUT_RE, (match) => (match.length > 1 || match === '\n' || match === '\t' ? match : escapeChar(match)))
}

/** Where the CLI writes: process.stdout/stderr, or a collector in tests (format.ts's Writer). */
interface Writer {
  write(chunk: string): unknown
  readonly isTTY?: boolean
}

/** `writer` with every chunk passed through escapeOutput (the last guard; outside text is escaped before). */
export function terminalSafe<W extends Writer>(writer: W): Writer {
  return {
    write: (chunk: string) => writer.write(escapeOutput(chunk)),
    get isTTY() {
      return writer.isTTY
    },
  }
}
