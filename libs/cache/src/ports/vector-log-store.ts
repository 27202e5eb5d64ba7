/**
 * Append-only logs of opaque records that every instance reads incrementally (each remembers the last
 * id it has seen): the vectors of a semantic scope. Adapters: Redis (a Stream trimmed by the server's
 * clock), memory. Ids compare as `ms-seq`. Every method may reject when the store cannot answer.
 */
export interface VectorLogStore {
  /** Appends records to `logKey`; entries older than `maxAgeMs` are trimmed on the way. */
  append(logKey: string, records: readonly Buffer[], maxAgeMs: number): Promise<void>;
  /** Up to `count` entries after `after` (exclusive; `'0-0'`: from the start), oldest first. */
  read(logKey: string, after: string, count: number): Promise<Array<readonly [id: string, record: Buffer]>>;
  /** Removes whole logs. */
  drop(logKeys: readonly string[]): Promise<void>;
}

export const VectorLogStore = Symbol('VectorLogStore');
