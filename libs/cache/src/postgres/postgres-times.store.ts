import type { InvalidationTimesStore } from '../ports/invalidation-times-store';
import type { PostgresSession } from './postgres.connection';
import type { PostgresTables } from './postgres.schema';

/**
 * Invalidation times in PostgreSQL, durable beside the entries they judge: `PostgresStore` reads check
 * them in the same statement, so an entry invalidated before a Redis flush stays invalid after it.
 * `minRetentionMs` keeps a time at least as long as the longest-lived cold entry can live.
 */
export class PostgresTimesStore implements InvalidationTimesStore {
  constructor(
    private readonly session: PostgresSession,
    private readonly tables: PostgresTables,
    private readonly minRetentionMs = 0,
    private readonly now: () => number = Date.now,
  ) {}

  async read(ids: readonly string[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const rows = (await this.session.query<{ id: string; at: string }>(`SELECT id, at FROM ${this.tables.times} WHERE id = ANY($1::text[])`, [ids])).rows;
    const byId = new Map(rows.map((row) => [row.id, Number(row.at)]));
    return ids.map((id) => byId.get(id) ?? 0);
  }

  async writeMax(times: ReadonlyMap<string, number>, retentionMs: number): Promise<void> {
    if (times.size === 0) return;
    const keepUntil = this.now() + Math.max(retentionMs, this.minRetentionMs);
    const t = this.tables.times;
    // Sorted: two instances writing overlapping sets lock the rows in the same order (no deadlock).
    const entries = [...times].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    await this.session.query(
      `INSERT INTO ${t} AS t (id, at, keep_until) SELECT id, at, $3 FROM unnest($1::text[], $2::bigint[]) AS u(id, at) ` +
        `ON CONFLICT (id) DO UPDATE SET at = GREATEST(t.at, EXCLUDED.at), keep_until = GREATEST(t.keep_until, EXCLUDED.keep_until)`,
      [entries.map(([id]) => id), entries.map(([, at]) => at), keepUntil],
    );
  }

  async track(ids: readonly string[], ttlMs: number): Promise<void> {
    if (ids.length === 0) return;
    const t = this.tables.times;
    await this.session.query(
      `INSERT INTO ${t} AS t (id, at, keep_until) SELECT id, 0, $2 FROM unnest($1::text[]) AS u(id) ` +
        `ON CONFLICT (id) DO UPDATE SET keep_until = GREATEST(t.keep_until, EXCLUDED.keep_until)`,
      [[...new Set(ids)].sort(), this.now() + Math.max(Math.ceil(ttlMs), this.minRetentionMs)],
    );
  }

  async raiseTracked(ids: readonly string[], time: number): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const rows = (
      await this.session.query<{ id: string }>(`UPDATE ${this.tables.times} SET at = GREATEST(at, $2) WHERE id = ANY($1::text[]) RETURNING id`, [ids, time])
    ).rows;
    const raised = new Set(rows.map((row) => row.id));
    return ids.map((id) => raised.has(id));
  }
}
