// Copy-on-write tables for one engine step (DESIGN §4.2: one atomic batch per step). Handlers read and
// write a draft; the engine turns the draft's changes into store ops, commits, and only then folds them
// into the live state. A nested draft lets one input's changes be dropped if it fails an invariant.

export interface Readable<V> {
  get(key: string): V | undefined
  keys(): Iterable<string>
}

export class Draft<V> implements Readable<V> {
  readonly #base: Readable<V>
  readonly #changes = new Map<string, V | undefined>()

  constructor(base: Readable<V>) {
    this.#base = base
  }

  get(key: string): V | undefined {
    return this.#changes.has(key) ? this.#changes.get(key) : this.#base.get(key)
  }

  set(key: string, value: V): void {
    this.#changes.set(key, value)
  }

  delete(key: string): void {
    this.#changes.set(key, undefined)
  }

  *keys(): Iterable<string> {
    for (const key of this.#base.keys()) if (!this.#changes.has(key) || this.#changes.get(key) !== undefined) yield key
    for (const [key, value] of this.#changes) if (value !== undefined && this.#base.get(key) === undefined) yield key
  }

  *values(): Iterable<V> {
    for (const key of this.keys()) yield this.get(key)!
  }

  /** Changes since the draft began: value, or undefined for a deletion. */
  changes(): ReadonlyMap<string, V | undefined> {
    return this.#changes
  }

  child(): Draft<V> {
    return new Draft(this)
  }

  /** Folds a child's changes into this draft. */
  absorb(child: Draft<V>): void {
    for (const [key, value] of child.changes()) this.#changes.set(key, value)
  }
}

/** The live table: a Map that is Readable and can take a committed draft's changes. */
export class Table<V> implements Readable<V> {
  readonly #map = new Map<string, V>()

  get(key: string): V | undefined {
    return this.#map.get(key)
  }

  keys(): Iterable<string> {
    return this.#map.keys()
  }

  values(): Iterable<V> {
    return this.#map.values()
  }

  get size(): number {
    return this.#map.size
  }

  set(key: string, value: V): void {
    this.#map.set(key, value)
  }

  apply(changes: ReadonlyMap<string, V | undefined>): void {
    for (const [key, value] of changes) {
      if (value === undefined) this.#map.delete(key)
      else this.#map.set(key, value)
    }
  }
}
