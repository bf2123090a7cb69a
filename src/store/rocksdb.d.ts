// The part of @nxtedition/rocksdb's abstract-level API that RocksStore uses (the package ships no types).
declare module '@nxtedition/rocksdb' {
  interface IteratorOptions {
    gte?: Buffer
    lt?: Buffer
    reverse?: boolean
    limit?: number
  }
  interface RocksIterator extends AsyncIterable<[Buffer, Buffer]> {
    close(): Promise<void>
  }
  type Op = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer }
  export class RocksLevel {
    constructor(location: string, options?: { keyEncoding?: 'buffer'; valueEncoding?: 'buffer' })
    open(options?: { createIfMissing?: boolean }): Promise<void>
    close(): Promise<void>
    getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]>
    iterator(options: IteratorOptions): RocksIterator
    batch(ops: Op[], options: { sync: boolean }): Promise<void>
  }
}
