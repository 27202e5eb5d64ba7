import type { LoggerService } from '@nestjs/common';
import { delay } from '../core/durations';
import { describePgError, type PostgresSession } from './postgres.connection';
import type { PostgresTables } from './postgres.schema';

export interface ExpiryCleanupSettings {
  /** How often a run starts (every instance tries; one at a time deletes). */
  interval: number;
  /** Rows deleted per statement (one short transaction each). */
  batch: number;
  /** A pause between batches, leaving the server room for other clients. */
  pause: number;
  now: () => number;
  logger: LoggerService;
}

/** What one run removed; `skipped` when another instance was cleaning at that moment. */
export interface CleanupRun {
  entries: number;
  times: number;
  counters: number;
  skipped: boolean;
}

/**
 * Removes rows past their physical expiry in batches: each batch is one short transaction that takes a
 * transaction-scoped advisory lock without waiting (so one instance cleans at a time; the others skip
 * that round) and deletes at most `batch` rows found through the expiry index by their `ctid`, skipping
 * rows another transaction holds. Row locks only, a few milliseconds each: the table is never locked.
 * Expired rows are never served meanwhile (reads filter on `stale_until`); this only gives the space back.
 */
export class ExpiryCleanup {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<CleanupRun | undefined> | undefined;
  private stopped = false;
  private failedOnce = false;

  constructor(
    private readonly session: PostgresSession,
    private readonly tables: PostgresTables,
    private readonly settings: ExpiryCleanupSettings,
  ) {}

  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.settings.interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One run over the three tables, batch after batch until a batch comes back short. */
  async runOnce(): Promise<CleanupRun> {
    const run: CleanupRun = { entries: 0, times: 0, counters: 0, skipped: false };
    const t = this.tables;
    for (const [table, column, field] of [
      [t.entries, 'stale_until', 'entries'],
      [t.times, 'keep_until', 'times'],
      [t.counters, 'stale_until', 'counters'],
    ] as const) {
      for (;;) {
        if (this.stopped) return run;
        const deleted = await this.batch(table, column);
        if (deleted < 0) {
          run.skipped = true;
          return run;
        }
        run[field] += deleted;
        if (deleted < this.settings.batch) break;
        if (this.settings.pause > 0) await delay(this.settings.pause);
      }
    }
    return run;
  }

  /** Rows deleted, or -1 when another instance holds the cleanup lock. */
  private batch(table: string, column: string): Promise<number> {
    return this.session.transaction(async (query) => {
      const lock = await query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS got', [`${this.tables.base}:cleanup`]);
      if (!lock.rows[0].got) return -1;
      const result = await query(
        `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE ${column} <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED))`,
        [this.settings.now(), this.settings.batch],
      );
      return result.rowCount ?? 0;
    });
  }

  private async tick(): Promise<void> {
    if (this.running !== undefined) return;
    this.running = this.runOnce().then(
      (run) => {
        this.failedOnce = false;
        return run;
      },
      (error: unknown) => {
        // Logged once per outage: PostgreSQL being down is already reported by the cold tier's breaker.
        if (!this.failedOnce) this.settings.logger.warn(`PostgreSQL cold tier: expiry cleanup failed (${describePgError(error)}); retried next interval`);
        this.failedOnce = true;
        return undefined;
      },
    );
    await this.running;
    this.running = undefined;
  }
}
