// The app SDK (AssemblyScript): what an app imports. apps/README.md explains how to write an app with it;
// docs/architecture/app-abi.md is the contract it implements.
export * from './abi'
export * from './bytes'
export * from './keccak'
export * from './commitReveal'
export * from './match'
