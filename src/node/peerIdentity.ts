// The node's libp2p identity key, kept in the data dir beside the channel key so that its PeerId (and the
// multiaddrs peers hold in their address books) survive restarts.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { bytesToHex, hexToBytes } from '../core/hex.js'
import { KeyFileError } from './keys.js'

/** The protobuf-encoded Ed25519 key at `file`, generated (mode 0600) when absent. */
export async function loadOrCreatePeerKey(file: string): Promise<Uint8Array> {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true })
    writeFileSync(file, `${bytesToHex(privateKeyToProtobuf(await generateKeyPair('Ed25519')))}\n`, { mode: 0o600 })
    chmodSync(file, 0o600)
  }
  try {
    const bytes = hexToBytes(readFileSync(file, 'utf8').trim(), 'peer key')
    privateKeyFromProtobuf(bytes)
    return bytes
  } catch (error) {
    throw new KeyFileError(`${file} is not a libp2p private key`, { file }, { cause: error })
  }
}

export function peerIdOf(peerKey: Uint8Array): string {
  return peerIdFromPrivateKey(privateKeyFromProtobuf(peerKey)).toString()
}
