// The libp2p transport over real TCP on loopback (no mocks): messages flow both ways and in order, survive
// a peer that is not up yet or restarts, and only a peer that proved its address is ever heard. Raw libp2p
// nodes play the impostors and the garbage senders. Nothing here asserts on time; waits poll a condition.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, test } from 'vitest'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { createSigner, type Signer } from '../core/signer.js'
import type { Address } from '../core/types.js'
import {
  FrameDecoder, HELLO_PROTOCOL, Libp2pTransport, MSG_PROTOCOL, encodeFrame, generatePeerPrivateKey,
  type Libp2pTransportOptions,
} from './libp2pTransport.js'
import { MAX_FRAME_BYTES, MAX_QUEUED_MESSAGES_PER_PEER } from './limits.js'
import { signPeerRecord } from './peerRecord.js'

const signers = Array.from({ length: 6 }, (_, i) => createSigner(`0x${(i + 1).toString(16).padStart(2, '0').repeat(32)}`))
const [alice, bob, carol, mallory] = signers as [Signer, Signer, Signer, Signer]

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup().catch(() => {})))
})

async function transport(options: Libp2pTransportOptions): Promise<Libp2pTransport> {
  const t = await Libp2pTransport.create(options)
  cleanups.push(() => t.close())
  return t
}

/** A plain libp2p node with our stack but none of our protocol logic: it sends whatever a test tells it to. */
async function rawNode(): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()],
  })
  cleanups.push(async () => node.stop())
  return node
}

/** Collects what a transport receives. */
function inbox(t: Libp2pTransport): { from: Address; text: string }[] {
  const got: { from: Address; text: string }[] = []
  t.onMessage((from, bytes) => got.push({ from, text: Buffer.from(bytes).toString() }))
  return got
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

/** Polls until `condition` holds; fails after `timeoutMs` (a safety net, not an assertion on speed). */
async function eventually(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

const portOf = (t: Libp2pTransport): number => Number(multiaddr(t.multiaddrs()[0]!).getComponents().find((c) => c.name === 'tcp')!.value)

test('Promise.withResolvers exists once the transport is loaded (Node 20 lacks it; libp2p needs it)', async () => {
  const { promise, resolve } = (Promise as unknown as { withResolvers<T>(): { promise: Promise<T>; resolve: (v: T) => void } }).withResolvers<number>()
  resolve(7)
  expect(await promise).toBe(7)
})

describe('FrameDecoder', () => {
  test('reassembles frames split and coalesced anyhow', () => {
    const payloads = Array.from({ length: 50 }, (_, i) => Buffer.alloc(1 + ((i * 37) % 300), i))
    const stream = Buffer.concat(payloads.map(encodeFrame))
    for (const step of [1, 3, 7, 64, 1000, stream.length]) {
      const decoder = new FrameDecoder(1024)
      const out: Buffer[] = []
      for (let i = 0; i < stream.length; i += step) out.push(...decoder.push(stream.subarray(i, i + step)))
      expect(out).toEqual(payloads)
      expect(decoder.pendingBytes).toBe(0)
    }
  })

  test('refuses an empty or oversize frame as soon as its header arrives', () => {
    const decoder = new FrameDecoder(16)
    expect(() => decoder.push(Buffer.of(0, 0, 0, 17))).toThrow(expect.objectContaining({ code: 'malformed_frame' }))
    expect(() => new FrameDecoder(16).push(Buffer.of(0, 0, 0, 0))).toThrow(expect.objectContaining({ code: 'malformed_frame' }))
  })
})

describe('Libp2pTransport', () => {
  test('two transports exchange messages both ways, each told who the sender proved to be', async () => {
    const a = await transport({ signer: alice })
    const b = await transport({ signer: bob, peers: { [alice.address]: a.multiaddrs() } })
    a.addPeer(bob.address, b.multiaddrs())
    const atA = inbox(a)
    const atB = inbox(b)
    a.send(bob.address, text('hello bob'))
    b.send(alice.address.toLowerCase() as Address, text('hello alice'))
    await eventually(() => atA.length === 1 && atB.length === 1, 'both messages')
    expect(atB).toEqual([{ from: alice.address, text: 'hello bob' }])
    expect(atA).toEqual([{ from: bob.address, text: 'hello alice' }])
    expect(a.connectedPeers()).toEqual([bob.address])
    expect(b.connectedPeers()).toEqual([alice.address])
    expect(a.multiaddrs()[0]).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${a.peerId}$`))
  })

  test('1,000 messages arrive in order, and a peer that only dialed us is answered on its connection', async () => {
    const b = await transport({ signer: bob })
    const a = await transport({ signer: alice, peers: { [bob.address]: b.multiaddrs() } })
    const atB = inbox(b)
    for (let i = 0; i < 1000; i++) a.send(bob.address, text(`m${i}`))
    await eventually(() => atB.length === 1000, '1000 messages')
    expect(atB.map((m) => m.text)).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`))
    // b has no address for alice, but alice's connection proved her address.
    const atA = inbox(a)
    b.send(alice.address, text('reply'))
    await eventually(() => atA.length === 1, 'the reply')
    expect(a.stats()).toMatchObject({ sent: 1000, received: 1, dropped: 0, refusedRecords: 0 })
  })

  test('a bootstrap peer known only by multiaddr is dialed, proves its address and joins the book (even if it starts later)', async () => {
    const key = await generatePeerPrivateKey()
    const port = await freePort()
    const peerId = peerIdFromPrivateKey(privateKeyFromProtobuf(key)).toString()
    const a = await transport({ signer: alice, bootstrap: [`/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`] })
    const b = await transport({ signer: bob, peerPrivateKey: key, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    const atB = inbox(b)
    await eventually(() => a.connectedPeers().includes(bob.address), 'alice bound to bob through bootstrap')
    a.send(bob.address, text('found you'))
    await eventually(() => atB.length === 1, 'the message')
    expect(atB).toEqual([{ from: alice.address, text: 'found you' }])
    await expect(transport({ signer: carol, bootstrap: ['/ip4/127.0.0.1/tcp/1'] })).rejects.toMatchObject({ code: 'invalid_multiaddr' })
  })

  test('both sides dialing at once lose and duplicate nothing', async () => {
    const [keyA, keyB] = await Promise.all([generatePeerPrivateKey(), generatePeerPrivateKey()])
    const [portA, portB] = await Promise.all([freePort(), freePort()])
    const idOf = (key: Uint8Array) => peerIdFromPrivateKey(privateKeyFromProtobuf(key)).toString()
    const book = {
      [alice.address]: [`/ip4/127.0.0.1/tcp/${portA}/p2p/${idOf(keyA)}`],
      [bob.address]: [`/ip4/127.0.0.1/tcp/${portB}/p2p/${idOf(keyB)}`],
    }
    const [a, b] = await Promise.all([
      transport({ signer: alice, peerPrivateKey: keyA, listen: [`/ip4/127.0.0.1/tcp/${portA}`], peers: book }),
      transport({ signer: bob, peerPrivateKey: keyB, listen: [`/ip4/127.0.0.1/tcp/${portB}`], peers: book }),
    ])
    const atA = inbox(a)
    const atB = inbox(b)
    for (let i = 0; i < 100; i++) {
      a.send(bob.address, text(`a${i}`))
      b.send(alice.address, text(`b${i}`))
    }
    await eventually(() => atA.length >= 100 && atB.length >= 100, 'both directions')
    await new Promise((resolve) => setTimeout(resolve, 50)) // room for a duplicate to show up
    expect(atB.map((m) => m.text)).toEqual(Array.from({ length: 100 }, (_, i) => `a${i}`))
    expect(atA.map((m) => m.text)).toEqual(Array.from({ length: 100 }, (_, i) => `b${i}`))
  })

  test('a message sent before the peer listens arrives once it does (queue and re-dial)', async () => {
    const keyB = await generatePeerPrivateKey()
    const port = await freePort()
    const peerIdB = peerIdFromPrivateKey(privateKeyFromProtobuf(keyB)).toString()
    const a = await transport({ signer: alice, peers: { [bob.address]: [`/ip4/127.0.0.1/tcp/${port}/p2p/${peerIdB}`] } })
    a.send(bob.address, text('early'))
    await new Promise((resolve) => setTimeout(resolve, 150)) // let a dial fail at least once
    const b = await transport({ signer: bob, peerPrivateKey: keyB, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    expect(b.peerId).toBe(peerIdB)
    const atB = inbox(b)
    await eventually(() => atB.length === 1, 'the queued message')
    expect(atB).toEqual([{ from: alice.address, text: 'early' }])
  })

  test('a peer that closes and restarts on the same port with the same key hears from us again', async () => {
    const keyB = await generatePeerPrivateKey()
    const b1 = await Libp2pTransport.create({ signer: bob, peerPrivateKey: keyB })
    const port = portOf(b1)
    const a = await transport({ signer: alice, peers: { [bob.address]: b1.multiaddrs() } })
    const atB1 = inbox(b1)
    a.send(bob.address, text('before'))
    await eventually(() => atB1.length === 1, 'the first message')
    await b1.close()
    await eventually(() => a.connectedPeers().length === 0, 'a to notice')
    const b2 = await transport({ signer: bob, peerPrivateKey: keyB, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    const atB2 = inbox(b2)
    a.send(bob.address, text('after'))
    await eventually(() => atB2.length === 1, 'the message after the restart')
    expect(atB2).toEqual([{ from: alice.address, text: 'after' }])
    expect(atB1).toHaveLength(1)
  })

  test('a dialed peer proving another address than the book says is dropped and hears nothing', async () => {
    const m = await transport({ signer: mallory })
    const atM = inbox(m)
    // The book says carol lives at mallory's node: mallory's valid record names mallory, not carol.
    const a = await transport({ signer: alice, peers: { [carol.address]: m.multiaddrs() } })
    a.send(carol.address, text('for carol only'))
    await eventually(() => a.stats().refusedRecords >= 1, 'the refusal')
    await eventually(() => a.connectedPeers().length === 0 && m.connectedPeers().length === 0, 'the connection to close')
    expect(atM).toEqual([])
    expect(m.stats().received).toBe(0)
    expect(a.stats().sent).toBe(0)
  })

  const impostors: { name: string; hello: (node: Libp2p) => Promise<Uint8Array> }[] = [
    {
      name: 'a record for another peer id',
      hello: async () => signPeerRecord(mallory, peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toMultihash().bytes, Date.now()),
    },
    {
      name: "a record naming alice's address signed by mallory's key",
      hello: async (node) => {
        const record = Buffer.from(signPeerRecord(mallory, node.peerId.toMultihash().bytes, Date.now()))
        record.set(Buffer.from(alice.address.slice(2), 'hex'), 9) // claim alice; the signature is mallory's
        return record
      },
    },
    { name: 'garbage in place of a record', hello: async () => Buffer.from('not a record at all') },
    // A second node run with bob's channel key: its record is valid, but bob is already here.
    { name: "a valid record for the listener's own address", hello: async (node) => signPeerRecord(bob, node.peerId.toMultihash().bytes, Date.now()) },
  ]

  test.each(impostors)('an impostor sending $name is refused and nothing it sends is delivered', async ({ hello }) => {
    const t = await transport({ signer: bob })
    const atT = inbox(t)
    const node = await rawNode()
    const connection = await node.dial(multiaddr(t.multiaddrs()[0]!))
    // Messages first (they wait for the hello), then the bad hello.
    const msg = await connection.newStream(MSG_PROTOCOL)
    msg.send(encodeFrame(text('I am alice')))
    msg.send(Buffer.from('garbage that is not even a frame'))
    const helloStream = await connection.newStream(HELLO_PROTOCOL)
    helloStream.send(encodeFrame(await hello(node)))
    await eventually(() => t.stats().refusedRecords === 1, 'the refusal')
    await eventually(() => connection.status !== 'open', 'the connection to close')
    await eventually(() => t.stats().dropped >= 1, 'the refused message stream')
    expect(atT).toEqual([])
    expect(t.connectedPeers()).toEqual([])
    // The transport keeps working for honest peers.
    const a = await transport({ signer: alice, peers: { [bob.address]: t.multiaddrs() } })
    a.send(bob.address, text('honest'))
    await eventually(() => atT.length === 1, 'the honest message')
    expect(atT).toEqual([{ from: alice.address, text: 'honest' }])
  })

  test('an oversize or cut-short frame from a bound peer closes that stream only', async () => {
    const t = await transport({ signer: bob })
    const atT = inbox(t)
    const node = await rawNode()
    const connection = await node.dial(multiaddr(t.multiaddrs()[0]!))
    const helloStream = await connection.newStream(HELLO_PROTOCOL)
    helloStream.send(encodeFrame(signPeerRecord(carol, node.peerId.toMultihash().bytes, Date.now())))
    await helloStream.close()
    await eventually(() => t.connectedPeers().length === 1, 'carol to be bound')

    const first = await connection.newStream(MSG_PROTOCOL)
    first.send(encodeFrame(text('fine')))
    const header = Buffer.alloc(4)
    header.writeUInt32BE(MAX_FRAME_BYTES + 1)
    first.send(Buffer.concat([header, Buffer.alloc(64)]))
    await eventually(() => first.status !== 'open', 'the oversize stream to close')

    const second = await connection.newStream(MSG_PROTOCOL)
    second.send(Buffer.concat([encodeFrame(text('still fine')), encodeFrame(text('cut short')).subarray(0, 6)]))
    await second.close()
    await eventually(() => atT.length === 2 && t.stats().dropped === 2, 'the good frames and both drops')
    expect(atT).toEqual([{ from: carol.address, text: 'fine' }, { from: carol.address, text: 'still fine' }])
    expect(t.connectedPeers()).toEqual([carol.address])
  })

  test('a throwing handler does not stop the stream', async () => {
    const b = await transport({ signer: bob })
    const a = await transport({ signer: alice, peers: { [bob.address]: b.multiaddrs() } })
    const got: string[] = []
    b.onMessage((_, bytes) => {
      got.push(Buffer.from(bytes).toString())
      if (got.length % 2 === 1) throw new Error('handler bug')
    })
    for (let i = 0; i < 10; i++) a.send(bob.address, text(`${i}`))
    await eventually(() => got.length === 10, 'all ten')
    expect(got).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
    expect(b.stats().received).toBe(10)
  })

  test('sending to ourselves, to an unknown address, or after close drops and never throws', async () => {
    const a = await transport({ signer: alice })
    a.send(alice.address, text('me'))
    a.send(carol.address, text('who?'))
    a.send(carol.address, new Uint8Array(0))
    a.send(carol.address, new Uint8Array(MAX_FRAME_BYTES + 1))
    expect(a.stats()).toMatchObject({ sent: 0, dropped: 4 })
    await a.close()
    await a.close()
    a.send(bob.address, text('late'))
    expect(a.stats().dropped).toBe(5)
  })

  test('the queue to an unreachable peer is bounded: the oldest messages go first', async () => {
    const keyB = await generatePeerPrivateKey()
    const port = await freePort()
    const peerIdB = peerIdFromPrivateKey(privateKeyFromProtobuf(keyB)).toString()
    const a = await transport({ signer: alice, peers: { [bob.address]: [`/ip4/127.0.0.1/tcp/${port}/p2p/${peerIdB}`] } })
    const total = MAX_QUEUED_MESSAGES_PER_PEER + 10
    for (let i = 0; i < total; i++) a.send(bob.address, text(`${i}`))
    expect(a.stats()).toMatchObject({ sent: 0, dropped: 10 })
    const b = await transport({ signer: bob, peerPrivateKey: keyB, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    const atB = inbox(b)
    await eventually(() => atB.length === MAX_QUEUED_MESSAGES_PER_PEER, 'the queued messages')
    expect(atB.map((m) => m.text)).toEqual(Array.from({ length: MAX_QUEUED_MESSAGES_PER_PEER }, (_, i) => `${i + 10}`))
  })

  test('bad configuration is refused with typed errors', async () => {
    await expect(Libp2pTransport.create({ signer: alice, peerPrivateKey: Uint8Array.of(1, 2, 3) }))
      .rejects.toMatchObject({ code: 'invalid_peer_key' })
    await expect(Libp2pTransport.create({ signer: alice, peers: { [bob.address]: ['/ip4/127.0.0.1/tcp/1'] } }))
      .rejects.toMatchObject({ code: 'invalid_multiaddr' })
    await expect(Libp2pTransport.create({ signer: alice, peers: { nobody: [] } }))
      .rejects.toMatchObject({ code: 'invalid_address' })
    const a = await transport({ signer: alice })
    expect(() => a.addPeer(bob.address, ['not a multiaddr'])).toThrow(expect.objectContaining({ code: 'invalid_multiaddr' }))
    await expect(Libp2pTransport.create({ signer: bob, listen: [`/ip4/127.0.0.1/tcp/${portOf(a)}`] }))
      .rejects.toMatchObject({ code: 'transport_start' })
  })

  test('close() leaves nothing running: a process that used two transports exits by itself', async () => {
    const module = fileURLToPath(new URL('./libp2pTransport.ts', import.meta.url))
    const signerModule = fileURLToPath(new URL('../core/signer.ts', import.meta.url))
    const script = `
      const { Libp2pTransport } = await import(${JSON.stringify(module)})
      const { createSigner } = await import(${JSON.stringify(signerModule)})
      const a = await Libp2pTransport.create({ signer: createSigner('0x${'11'.repeat(32)}') })
      const b = await Libp2pTransport.create({ signer: createSigner('0x${'22'.repeat(32)}'), peers: { [a.address]: a.multiaddrs() } })
      await new Promise((resolve) => { a.onMessage(resolve); b.send(a.address, new Uint8Array([1])) })
      await b.close()
      await a.close()
      console.log('closed')
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    clearTimeout(killer)
    expect(output).toContain('closed')
    expect(code).toBe(0)
  })
})
