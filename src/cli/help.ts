// What the `channels` commands print about themselves: the global options, `channels help [command]` and
// `--help`, and the one-line usage hint after a usage error (exit 2). The command table itself is in commands.ts.
import type { Writer } from './format.js'
import { UsageError, describeError } from './format.js'
import { escapeText } from './sanitize.js'

export type OptionSpec = { readonly type: 'string' | 'boolean'; readonly short?: string; readonly value?: string; readonly help: string }

/** A command as its help shows it. */
export interface CommandHelp {
  readonly name: string
  readonly args?: readonly string[]
  readonly options?: Readonly<Record<string, OptionSpec>>
  readonly summary: string
  readonly example: string
}

/** The options every command takes (the first three say where the node is: connection.ts). */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'data-dir': { type: 'string', value: '<dir>', help: 'the node\'s data dir: node.json and rpc.secret are read there (default ./data, or CHANNELS_DATA_DIR)' },
  url: { type: 'string', value: '<url>', help: 'the node\'s RPC URL, instead of --data-dir' },
  secret: { type: 'string', value: '<hex>', help: 'the API secret with --url (default CHANNELS_RPC_SECRET)' },
  json: { type: 'boolean', help: 'print the raw JSON result (amounts as decimal strings) for scripts' },
  help: { type: 'boolean', short: 'h', help: 'show help for the command' },
}

/** The command whose words begin the command line's positionals (`ledger open` in `ledger open --with …`). */
export function findCommand<C extends CommandHelp>(commands: readonly C[], words: readonly string[]): C | undefined {
  return commands.find((c) => c.name.split(' ').every((w, i) => words[i] === w))
}

/** The second words of a group's commands: `open`, `close`, … for `ledger`. */
export function subcommandsOf(commands: readonly CommandHelp[], group: string): string[] {
  return commands.filter((c) => c.name.startsWith(`${group} `)).map((c) => c.name.slice(group.length + 1))
}

function usageLine(c: CommandHelp): string {
  const options = Object.entries(c.options ?? {}).map(([name, o]) => {
    const text = `--${name}${o.value ? ` ${o.value}` : ''}`
    return o.help.includes('default') || o.type === 'boolean' ? `[${text}]` : text
  })
  return ['channels', c.name, ...(c.args ?? []), ...options].join(' ')
}

/** A command's help (usage, options, example); a group's or everything's list of commands otherwise. */
export function helpText(commands: readonly CommandHelp[], words: readonly string[]): string {
  const command = findCommand(commands, words)
  const group = words.length > 0 && !command ? commands.filter((c) => c.name.startsWith(`${words[0]} `)) : []
  const optionLines = (options: Readonly<Record<string, OptionSpec>>) =>
    Object.entries(options).map(([name, o]) => `  ${`${o.short ? `-${o.short}, ` : ''}--${name}${o.value ? ` ${o.value}` : ''}`.padEnd(28)} ${o.help}`)
  if (command && command.name !== 'help') {
    return [`usage: ${usageLine(command)}`, '', command.summary, ...(command.options ? ['', 'options:', ...optionLines(command.options)] : []), '', 'global options:', ...optionLines(GLOBAL_OPTIONS), '', 'example:', `  ${command.example}`, ''].join('\n')
  }
  const listed = group.length > 0 ? group : commands
  return [
    'channels: talk to a running Channels node (docs/cli.md)',
    '',
    'usage: channels [--data-dir <dir> | --url <url> --secret <hex>] [--json] <command> [options]',
    '       channels node [flags]        runs a node daemon (docs/adr/0011-node-daemon.md)',
    '       channels verify <file>       checks an exported app-channel log, offline (no node needed)',
    '       channels watchtower run|add|list  answers stale challenges for channels handed over (docs/watchtower.md)',
    '',
    'commands:',
    ...listed.map((c) => `  ${`${c.name}${c.args ? ` ${c.args.join(' ')}` : ''}`.padEnd(32)} ${c.summary}`),
    '',
    'global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Amounts are wei (1000) or a decimal with a unit (1.5eth, 200gwei). Channel ids may be shortened to a unique prefix.',
    '`channels help <command>` or `channels <command> --help` shows a command\'s options and an example.',
    '',
  ].join('\n')
}

/** Says what is wrong with the command line in one line, then how to use the command (or group); returns exit code 2. */
export function usageFailure(err: Writer, error: unknown, commands: readonly CommandHelp[], words: readonly string[]): number {
  err.write(`channels: ${error instanceof UsageError ? escapeText(error.summary) : describeError(error).join(' ')}\n`)
  const command = findCommand(commands, words)
  const group = words[0] ? subcommandsOf(commands, words[0]) : []
  if (command) err.write(`usage: ${usageLine(command)}  (channels help ${command.name})\n`)
  else if (group.length > 0) err.write(`usage: channels ${words[0]} ${group.join('|')} …  (channels help ${words[0]})\n`)
  else err.write('usage: channels <command> [options]  (channels help lists the commands)\n')
  return 2
}
