// A small byte reader and writer over linear memory, little-endian (the ABI's byte order). The reader never
// traps on short input: a read past the end returns 0 and sets `failed`, so an app checks once, at the end,
// with `done()`, and rejects a malformed event with BAD_EVENT instead of trapping.

export class Reader {
  private pos: usize
  private end: usize
  /** Set once any read went past the end. */
  failed: bool = false

  constructor(ptr: usize, len: u32) {
    this.pos = ptr
    this.end = ptr + <usize>len
  }

  get remaining(): u32 {
    return <u32>(this.end - this.pos)
  }

  /** True when every read fitted and every byte was read. */
  done(): bool {
    return !this.failed && this.pos == this.end
  }

  /** Advances over `n` bytes and returns where they start, or 0 (and `failed`) when fewer remain. */
  skip(n: u32): usize {
    if (this.failed || <usize>n > this.end - this.pos) {
      this.failed = true
      return 0
    }
    const at = this.pos
    this.pos += <usize>n
    return at
  }

  u8(): u32 {
    const at = this.skip(1)
    return at == 0 ? 0 : <u32>load<u8>(at)
  }

  u16(): u32 {
    const at = this.skip(2)
    return at == 0 ? 0 : <u32>load<u16>(at)
  }

  u32(): u32 {
    const at = this.skip(4)
    return at == 0 ? 0 : load<u32>(at)
  }

  u64(): u64 {
    const at = this.skip(8)
    return at == 0 ? 0 : load<u64>(at)
  }

  /** `n` bytes in place: a pointer into the input (valid until the next reset), or 0 when short. */
  bytes(n: u32): usize {
    return this.skip(n)
  }
}

/** Writes forward from `ptr`. The caller sizes the buffer (states have fixed or computed lengths). */
export class Writer {
  pos: usize

  constructor(ptr: usize) {
    this.pos = ptr
  }

  u8(value: u32): void {
    store<u8>(this.pos, <u8>value)
    this.pos += 1
  }

  u16(value: u32): void {
    store<u16>(this.pos, <u16>value)
    this.pos += 2
  }

  u32(value: u32): void {
    store<u32>(this.pos, value)
    this.pos += 4
  }

  u64(value: u64): void {
    store<u64>(this.pos, value)
    this.pos += 8
  }

  bytes(src: usize, n: u32): void {
    memory.copy(this.pos, src, <usize>n)
    this.pos += <usize>n
  }

  /** `n` copies of `value`. */
  fill(value: u8, n: u32): void {
    memory.fill(this.pos, value, <usize>n)
    this.pos += <usize>n
  }
}
