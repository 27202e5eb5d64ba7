/**
 * Where invalidation times live (tags, namespaces, dependencies): the time each id was last
 * invalidated, so an entry created at or before it is treated as missing (O(1) invalidation: nothing is
 * scanned). Adapters: Redis, memory, PostgreSQL. Ids are scoped already (prefix, tenant); an adapter
 * maps them to its own keys. Every method may reject when the store cannot answer.
 */
export interface InvalidationTimesStore {
  /** The recorded time of each id (epoch ms), 0 when none; answers in the order of `ids`. */
  read(ids: readonly string[]): Promise<number[]>;
  /**
   * Records each time unless a later one is recorded already (two instances invalidating at once keep
   * the later time); records live `retentionMs`, at least as long as any entry can.
   */
  writeMax(times: ReadonlyMap<string, number>, retentionMs: number): Promise<void>;
  /**
   * Makes sure each dependency id has a record (time 0 when new) that lives at least `ttlMs` more: only
   * ids something depends on get one, so deleting any other key costs no record.
   */
  track(ids: readonly string[], ttlMs: number): Promise<void>;
  /**
   * For each id that has a record (was `track`ed), raises its time to `time` (keeping its lifetime), and
   * says which had one; untracked ids get nothing.
   */
  raiseTracked(ids: readonly string[], time: number): Promise<boolean[]>;
}

export const InvalidationTimesStore = Symbol('InvalidationTimesStore');
