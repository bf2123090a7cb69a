// The node operator's say over which app channels peers may open with it: the `apps` section of the config
// (src/node/config.ts) turned into the Engine's `appPolicy` (EngineOptions), which refuses an open it
// declines as `app_declined`. Each rule the config leaves out allows everything; a channel must pass all of
// them. The engine asks only when a peer opens a channel this node does not have, and only for an app the
// node runs, so `accept` can narrow the registry but never widen it.
import type { Address, Bytes32 } from '../core/types.js'
import type { AppDefinition } from '../protocols/app/appData.js'
import type { AppRegistry } from './appRegistry.js'
import type { NodeConfig } from './config.js'
import { ConfigError } from './config.js'
import { toBytes32 } from '../core/canonical.js'

export type AppPolicy = (definition: AppDefinition, from: Address) => boolean

const APP_ID = /^0x[0-9a-fA-F]{64}$/

/**
 * The policy the config asks for, checked against the apps this node runs.
 *
 * @throws ConfigError (`config`, details.field `apps.accept`) for a name or appId the registry does not have:
 *   a typo would otherwise refuse that app's channels without a word
 */
export function appPolicyFrom(config: Pick<NodeConfig, 'apps'>, registry: Pick<AppRegistry, 'names'>): AppPolicy {
  const { accept, peers, maxDeposit, funding } = config.apps
  const acceptedIds = accept === undefined ? undefined : new Set(accept.map((entry) => resolveApp(entry, registry)))
  const acceptedPeers = peers === undefined ? undefined : new Set(peers)
  return (definition, from) =>
    (acceptedIds === undefined || acceptedIds.has(definition.appId)) &&
    (acceptedPeers === undefined || acceptedPeers.has(from)) &&
    (maxDeposit === undefined || definition.deposits.every((deposit) => deposit <= maxDeposit)) &&
    (funding === undefined || funding.includes(definition.funding ?? 'none'))
}

/** An app name from the manifest or an appId, as the appId of an app this node runs. */
function resolveApp(entry: string, registry: Pick<AppRegistry, 'names'>): Bytes32 {
  const known = [...registry.names.values()]
  const appId: Bytes32 | undefined = APP_ID.test(entry) ? toBytes32(entry) : registry.names.get(entry)
  if (appId === undefined || !known.includes(appId)) {
    const runs = [...registry.names.keys()].join(', ') || 'no apps'
    throw new ConfigError(`apps.accept: this node runs no app ${entry} (it runs ${runs})`, { field: 'apps.accept', value: entry })
  }
  return appId
}
