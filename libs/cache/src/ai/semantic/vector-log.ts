import type { VectorLogStore } from '../../ports/vector-log-store';
import type { L2Facade } from '../../tiers/l2.facade';

export type LogEntry = readonly [id: string, record: Buffer];

/**
 * Where the vectors of a semantic scope are shared: an append-only log per scope that every instance
 * reads incrementally (each remembers the last id it has seen). On Redis it is a Stream.
 */
export interface VectorLog {
  /** Appends records; entries older than `maxAgeMs` are trimmed on the way (amortized O(1)). */
  append(logKey: string, records: readonly Buffer[], maxAgeMs: number): Promise<boolean>;
  /** Up to `count` entries after `after` (exclusive; `'0-0'` from the start); undefined when the log could not be read. */
  read(logKey: string, after: string, count: number): Promise<LogEntry[] | undefined>;
  drop(logKeys: readonly string[]): Promise<void>;
}

/** The scope logs in the shared store (Redis Streams), every call behind the L2 breaker (a failure is a skipped append or read). */
export class SharedVectorLog implements VectorLog {
  constructor(
    private readonly l2: L2Facade,
    private readonly store: VectorLogStore,
  ) {}

  async append(logKey: string, records: readonly Buffer[], maxAgeMs: number): Promise<boolean> {
    if (records.length === 0) return true;
    const result = await this.l2.guard(() => this.store.append(logKey, records, maxAgeMs).then(() => true), undefined);
    return result !== undefined;
  }

  async read(logKey: string, after: string, count: number): Promise<LogEntry[] | undefined> {
    const entries = await this.l2.guard(() => this.store.read(logKey, after, count), undefined);
    return entries === undefined ? undefined : entries.map(([id, record]): LogEntry => [id, record]);
  }

  async drop(logKeys: readonly string[]): Promise<void> {
    // Through the facade: a drop Redis missed is replayed once it answers, like any delete.
    if (logKeys.length > 0) await this.l2.delete(logKeys);
  }
}

/**
 * Memory only (no Redis, or a named cache kept in memory): the log of this process. Its one reader is
 * this process's index, so entries are kept only until they have been read.
 */
export class MemoryVectorLog implements VectorLog {
  private readonly logs = new Map<string, { next: number; entries: LogEntry[] }>();

  append(logKey: string, records: readonly Buffer[]): Promise<boolean> {
    let log = this.logs.get(logKey);
    if (log === undefined) this.logs.set(logKey, (log = { next: 1, entries: [] }));
    for (const record of records) log.entries.push([`${log.next++}-0`, record]);
    return Promise.resolve(true);
  }

  read(logKey: string, after: string, count: number): Promise<LogEntry[] | undefined> {
    const log = this.logs.get(logKey);
    if (log === undefined) return Promise.resolve([]);
    const seq = Number(after.split('-')[0]);
    const unread = log.entries.filter(([id]) => Number(id.split('-')[0]) > seq);
    const batch = unread.slice(0, count);
    // Everything up to what was just handed out has been read by the only reader there is.
    if (batch.length > 0) {
      const last = Number(batch[batch.length - 1][0].split('-')[0]);
      log.entries = log.entries.filter(([id]) => Number(id.split('-')[0]) > last);
    }
    return Promise.resolve(batch);
  }

  drop(logKeys: readonly string[]): Promise<void> {
    for (const key of logKeys) this.logs.delete(key);
    return Promise.resolve();
  }
}
