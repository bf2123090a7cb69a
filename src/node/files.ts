// The files in a node's data dir that the CLI reads too; no imports, so the CLI can use them without loading the daemon.
export const NODE_INFO_FILE = 'node.json'
export const SECRET_FILE = 'rpc.secret'
