// The node's libp2p identity key, kept in the data dir beside the channel key so that its PeerId (and the
// multiaddrs peers hold in their address books) survive restarts.
import { existsSync, readFileSync } from 'node:fs'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { bytesToHex, hexToBytes } from '../core/hex.js'
import { KeyFileError } from './keys.js'
import { checkPrivateFile, writePrivateFile } from './privateFile.js'

/** The protobuf-encoded Ed25519 key at `file` (private to its owner), generated (mode 0600) when absent. */
export async function loadOrCreatePeerKey(file: string): Promise<Uint8Array> {
  if (!existsSync(file)) writePrivateFile(file, `${bytesToHex(privateKeyToProtobuf(await generateKeyPair('Ed25519')))}\n`)
  checkPrivateFile(file, 'the peer key')
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
