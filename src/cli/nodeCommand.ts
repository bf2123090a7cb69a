// `channels node [flags]`: runs a node until SIGINT/SIGTERM, then shuts it down gracefully (the outbox is
// given time to drain). Configuration errors are printed plainly with the field at fault, never a stack.
import { ChannelsError } from '../core/errors.js'
import { loadConfig } from '../node/config.js'
import { createLogger, startNode } from '../node/node.js'

export async function runNodeCommand(argv: readonly string[]): Promise<number> {
  let config
  try {
    config = loadConfig(argv)
  } catch (error) {
    console.error(`channels node: ${describe(error)}`)
    return 2
  }
  const logger = createLogger(config)
  // Listen before starting: a signal during start-up must still stop the node cleanly once it is up.
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  let node
  try {
    node = await startNode(config, logger)
  } catch (error) {
    logger.fatal({ code: error instanceof ChannelsError ? error.code : undefined }, describe(error))
    return 1
  }
  const signal = await signalled
  logger.info({ signal }, 'shutting down')
  await node.stop()
  return 0
}

function describe(error: unknown): string {
  return error instanceof ChannelsError ? `${error.summary} (${error.code})` : error instanceof Error ? error.message : String(error)
}
