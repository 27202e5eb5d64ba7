import type { EntryMeta, RemoteStore, RemoteStoreCapabilities, RemoteStoreState, StoredBytes } from '../ports/remote-store';
import type { PostgresSession } from './postgres.connection';
import type { PostgresTables } from './postgres.schema';

/** An entry read from the cold tier with how long it may still live (what a promotion to L2 keeps). */
export interface LiveBytes {
  readonly bytes: Buffer;
  readonly ttlMs: number;
}

/**
 * The remote store on PostgreSQL (the L3 cold tier): one row per entry, upserted; physical expiry by
 * `stale_until` (rows past it are never returned, and removed in batches by `ExpiryCleanup`).
 *
 * Reads check invalidation themselves: a row whose creation is at or before a recorded time of any of its
 * ids (namespace, tags, dependencies; see `PostgresTimesStore`) is not returned. Redis may lose the times
 * (a flush, an eviction, a failover that dropped the tail); this table and the times table do not, so an
 * invalidated entry is never read back from here, whatever Redis remembers.
 */
export class PostgresStore implements RemoteStore {
  readonly name = 'postgres';
  readonly capabilities: RemoteStoreCapabilities = {
    fencing: false,
    scripts: false,
    scan: true,
    lock: false,
    // Every statement is bounded by statement_timeout (server) and query_timeout (client).
    boundedCalls: true,
    shared: true,
  };
  private readonly readSql: string;

  constructor(
    private readonly session: PostgresSession,
    private readonly tables: PostgresTables,
    private readonly now: () => number = Date.now,
  ) {
    this.readSql =
      `SELECT e.key, e.value, e.stale_until FROM ${tables.entries} e WHERE e.key = ANY($1::text[]) AND e.stale_until > $2 ` +
      `AND NOT EXISTS (SELECT 1 FROM ${tables.times} t WHERE t.id = ANY(e.tags) AND t.at >= e.created_at)`;
  }

  get state(): RemoteStoreState {
    return this.session.state;
  }

  async get(key: string): Promise<Buffer | undefined> {
    return (await this.readLive([key]))[0]?.bytes;
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    return (await this.readLive(keys)).map((found) => found?.bytes);
  }

  /** The live, not invalidated entries under `keys` with their remaining lifetimes, in the order of `keys`. */
  async readLive(keys: readonly string[]): Promise<(LiveBytes | undefined)[]> {
    if (keys.length === 0) return [];
    const now = this.now();
    const rows = (await this.session.query<{ key: string; value: Buffer; stale_until: string }>(this.readSql, [keys, now])).rows;
    const byKey = new Map(rows.map((row) => [row.key, { bytes: row.value, ttlMs: Number(row.stale_until) - now }]));
    return keys.map((key) => byKey.get(key));
  }

  async set(key: string, bytes: Buffer, ttlMs: number, meta?: EntryMeta): Promise<void> {
    await this.setMany([{ key, bytes, ttlMs, meta }]);
  }

  /**
   * One statement for the whole batch (`unnest` of parallel arrays). The last item of a key wins, as in
   * Redis; items with `ttlMs <= 0` delete their key.
   */
  async setMany(items: readonly StoredBytes[]): Promise<void> {
    const last = new Map<string, StoredBytes>();
    for (const item of items) last.set(item.key, item);
    const writes = [...last.values()].filter((item) => item.ttlMs > 0);
    const deletes = [...last.values()].filter((item) => item.ttlMs <= 0).map((item) => item.key);
    if (deletes.length > 0) await this.delete(deletes);
    if (writes.length === 0) return;
    const now = this.now();
    const t = this.tables.entries;
    await this.session.query(
      `INSERT INTO ${t} (key, value, created_at, expires_at, stale_until, tags) ` +
        `SELECT k, v, c, e, s, ARRAY(SELECT json_array_elements_text(g::json)) FROM unnest($1::text[], $2::bytea[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[]) AS u(k, v, c, e, s, g) ` +
        `ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, ` +
        `stale_until = EXCLUDED.stale_until, tags = EXCLUDED.tags`,
      [
        writes.map((w) => w.key),
        writes.map((w) => w.bytes),
        writes.map((w) => w.meta?.createdAt ?? now),
        writes.map((w) => w.meta?.expiresAt ?? now + w.ttlMs),
        writes.map((w) => now + Math.ceil(w.ttlMs)),
        writes.map((w) => JSON.stringify(w.meta?.ids ?? [])),
      ],
    );
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const result = await this.session.query(`DELETE FROM ${this.tables.entries} WHERE key = ANY($1::text[])`, [keys]);
    return result.rowCount ?? 0;
  }

  async deleteIfSame(key: string, bytes: Buffer): Promise<void> {
    await this.session.query(`DELETE FROM ${this.tables.entries} WHERE key = $1 AND value = $2`, [key, bytes]);
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    const t = this.tables.counters;
    const now = this.now();
    const rows = (
      await this.session.query<{ value: string }>(
        `INSERT INTO ${t} AS c (key, value, stale_until) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET ` +
          `value = CASE WHEN c.stale_until > $4 THEN c.value + EXCLUDED.value ELSE EXCLUDED.value END, ` +
          `stale_until = CASE WHEN c.stale_until > $4 THEN c.stale_until ELSE EXCLUDED.stale_until END RETURNING value`,
        [key, by, now + Math.ceil(ttlMs), now],
      )
    ).rows;
    return Number(rows[0].value);
  }

  async ping(): Promise<void> {
    await this.session.query('SELECT 1');
  }

  async whenReady(timeoutMs: number): Promise<boolean> {
    if (this.session.state === 'ready') return true;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      try {
        await this.ping();
        return true;
      } catch {
        if (performance.now() + 100 >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 100).unref());
      }
    }
  }

  onStateChange(listener: (state: RemoteStoreState, reason: string) => void): () => void {
    return this.session.onStateChange(listener);
  }

  async close(): Promise<void> {
    // The session's owner (PostgresAdapters) closes the pool.
  }
}
