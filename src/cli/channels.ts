// The `channels` command: `channels node …` runs a node daemon, `channels watchtower …` a watchtower
// (watchtowerCommand.ts); every other command talks to a running node over its JSON-RPC API
// (src/cli/commands.ts). Each side loads only its own modules.
const [command, ...rest] = process.argv.slice(2)
if (command === 'node') {
  const { runNodeCommand } = await import('./nodeCommand.js')
  process.exitCode = await runNodeCommand(rest)
} else if (command === 'watchtower') {
  const { runWatchtowerCommand } = await import('./watchtowerCommand.js')
  process.exitCode = await runWatchtowerCommand(rest)
} else {
  const { runCommand } = await import('./commands.js')
  process.exitCode = await runCommand(process.argv.slice(2))
}
