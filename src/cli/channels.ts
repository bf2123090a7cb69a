// The `channels` command: `channels node …` runs a node daemon; every other command talks to a running
// node over its JSON-RPC API (src/cli/commands.ts).
import { runNodeCommand } from './nodeCommand.js'
import { runCommand } from './commands.js'

const [command, ...rest] = process.argv.slice(2)
process.exitCode = command === 'node' ? await runNodeCommand(rest) : await runCommand(process.argv.slice(2))
