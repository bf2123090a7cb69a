// Promise.withResolvers (ES2024) for Node 20, which lacks it and which libp2p 3 calls on every stream
// (DESIGN §9: "on Node 20 needs a Promise.withResolvers polyfill"). Import this module before libp2p;
// it only adds the method where it is missing, so Node 22+ keeps its own.

interface Resolvers<T> {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

function withResolvers<T>(this: PromiseConstructor): Resolvers<T> {
  let resolve!: Resolvers<T>['resolve']
  let reject!: Resolvers<T>['reject']
  const promise = new this<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', { value: withResolvers, writable: true, configurable: true })
}

export {}
