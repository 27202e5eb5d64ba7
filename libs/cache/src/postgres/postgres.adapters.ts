import type { LoggerService } from '@nestjs/common';
import { StrataError } from '../core/errors';
import type { StoreAdapters, StoreRefusal } from '../ports/store-adapters';
import { ExpiryCleanup } from './expiry-cleanup';
import { PostgresSession, type PostgresSessionSettings } from './postgres.connection';
import { postgresRefusals } from './postgres-refusal';
import { POSTGRES_SCHEMA_VERSION, type PostgresTables, migrateSchema, schemaVersion, tablesOf } from './postgres.schema';
import { PostgresKeyScanner } from './postgres-key.scanner';
import { PostgresStore } from './postgres.store';
import { PostgresTimesStore } from './postgres-times.store';
import type { PostgresConnectionOptions } from './postgres.types';

export interface PostgresAdapterSettings extends PostgresSessionSettings {
  table: string;
  /** Create or migrate the tables at startup; false: only check that they are there (migrated at deploy). */
  migrate: boolean;
  cleanup: false | { interval: number; batch: number; pause: number };
  /** Invalidation times are kept at least this long (the longest a cold entry can live). */
  minRetentionMs: number;
  now: () => number;
  logger: LoggerService;
}

/**
 * The PostgreSQL adapters of the cold tier on one pool: the remote store, its invalidation times, its
 * key scanner, and the expiry cleanup. The schema is made ready by `prepare()` (the cold tier's breaker
 * calls it until it succeeds, so a database that is down at startup is set up once it answers).
 */
export class PostgresAdapters implements StoreAdapters {
  readonly session: PostgresSession;
  readonly tables: PostgresTables;
  readonly store: PostgresStore;
  readonly times: PostgresTimesStore;
  readonly scanner: PostgresKeyScanner;
  readonly cleanup: ExpiryCleanup | undefined;
  /** PostgreSQL up but refusing: read-only, full, out of memory or connections, not permitted, not accepting connections yet. */
  readonly refusal: (error: unknown) => StoreRefusal | undefined;
  private prepared = false;

  /** The remote store (the `StoreAdapters` name of `store`); PostgreSQL has no lock store, bus or side stores. */
  get remote(): PostgresStore {
    return this.store;
  }

  constructor(
    connection: PostgresConnectionOptions,
    private readonly settings: PostgresAdapterSettings,
  ) {
    this.tables = tablesOf(settings.table);
    this.refusal = postgresRefusals(this.tables);
    this.session = new PostgresSession(connection, settings);
    this.store = new PostgresStore(this.session, this.tables, settings.now);
    this.times = new PostgresTimesStore(this.session, this.tables, settings.minRetentionMs, settings.now);
    this.scanner = new PostgresKeyScanner(this.session, this.tables);
    if (settings.cleanup !== false) {
      this.cleanup = new ExpiryCleanup(this.session, this.tables, { ...settings.cleanup, now: settings.now, logger: settings.logger });
    }
  }

  /**
   * A round trip that also makes sure the schema is in place (once): migrated when `migrate`, else
   * checked. Rejects while PostgreSQL does not answer or the schema is missing or newer than this library.
   */
  async ready(): Promise<void> {
    if (this.prepared) return this.store.ping();
    if (this.settings.migrate) {
      await migrateSchema(this.session, this.tables);
    } else {
      const version = await schemaVersion(this.session, this.tables);
      if (version !== POSTGRES_SCHEMA_VERSION) {
        throw new StrataError(
          'E_INVALID_OPTION',
          `Strata cache: the PostgreSQL cold tier's tables '${this.tables.entries}*' are at schema version ${version}, this library needs ` +
            `${POSTGRES_SCHEMA_VERSION}; run migratePostgresSchema() from @strata/cache at deploy, or set postgres.migrate: true`,
        );
      }
    }
    this.prepared = true;
    this.cleanup?.start();
  }

  async close(): Promise<void> {
    await this.cleanup?.stop();
    await this.session.close();
  }
}
