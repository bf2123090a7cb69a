// The error codes are a public contract (STYLE §3): logged, journaled and sent to RPC clients.
import { describe, expect, test } from 'vitest'
import {
  BrokenLogError,
  ChannelsError,
  CodecError,
  InvalidAddressError,
  InvalidChannelIdError,
  InvalidHexError,
  InvalidLengthError,
  InvalidOutcomeError,
  InvalidSignatureError,
  InvalidStateError,
  InvariantError,
  NativeBackendError,
  OperatingError,
  OutOfRangeError,
  RejectedInputError,
  StoreError,
  assert,
} from './errors.js'

describe('error classes', () => {
  test.each([
    { name: 'InvalidHexError', make: (m: string) => new InvalidHexError(m), code: 'invalid_hex', rejected: true },
    { name: 'InvalidAddressError', make: (m: string) => new InvalidAddressError(m), code: 'invalid_address', rejected: true },
    { name: 'InvalidLengthError', make: (m: string) => new InvalidLengthError(m), code: 'invalid_length', rejected: true },
    { name: 'OutOfRangeError', make: (m: string) => new OutOfRangeError(m), code: 'out_of_range', rejected: true },
    { name: 'InvalidSignatureError', make: (m: string) => new InvalidSignatureError(m), code: 'invalid_signature', rejected: true },
    { name: 'InvalidChannelIdError', make: (m: string) => new InvalidChannelIdError(m), code: 'invalid_channel_id', rejected: true },
    { name: 'InvalidOutcomeError', make: (m: string) => new InvalidOutcomeError(m), code: 'invalid_outcome', rejected: true },
    { name: 'InvalidStateError', make: (m: string) => new InvalidStateError(m), code: 'invalid_state', rejected: true },
    { name: 'CodecError', make: (m: string) => new CodecError(m), code: 'codec', rejected: true },
    { name: 'BrokenLogError', make: (m: string) => new BrokenLogError(m), code: 'broken_log', rejected: true },
    { name: 'NativeBackendError', make: (m: string) => new NativeBackendError(m), code: 'native_backend', rejected: false },
    { name: 'StoreError', make: (m: string) => new StoreError(m), code: 'store', rejected: false },
    { name: 'InvariantError', make: (m: string) => new InvariantError(m), code: 'invariant', rejected: false },
  ])('$name has code $code and its class name', ({ name, make, code, rejected }) => {
    const error = make('summary text')
    expect(error.code).toBe(code)
    expect(error.name).toBe(name)
    expect(error.message).toBe('summary text')
    expect(error.summary).toBe('summary text')
    expect(error.details).toEqual({})
    expect(error).toBeInstanceOf(Error)
    expect(error).toBeInstanceOf(ChannelsError)
    expect(error instanceof RejectedInputError).toBe(rejected)
  })

  test('operating errors are not rejections, and the reverse', () => {
    expect(new StoreError('x')).toBeInstanceOf(OperatingError)
    expect(new CodecError('x')).not.toBeInstanceOf(OperatingError)
  })

  test('details and cause are kept', () => {
    const cause = new Error('root')
    const error = new CodecError('bad', { size: 5n }, { cause })
    expect(error.details).toEqual({ size: 5n })
    expect(error.cause).toBe(cause)
  })
})

describe('assert', () => {
  test('passes on a truthy condition', () => {
    expect(() => assert(1, 'never')).not.toThrow()
  })
  test.each([
    { name: 'false', condition: false },
    { name: '0', condition: 0 },
    { name: "''", condition: '' },
    { name: 'null', condition: null },
    { name: 'undefined', condition: undefined },
  ])('throws code invariant on $name, with the message and details', ({ condition }) => {
    let thrown: unknown
    try {
      assert(condition, 'turns only grow', { turn: 3n })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toMatchObject({ code: 'invariant', message: 'turns only grow', details: { turn: 3n } })
  })
})
