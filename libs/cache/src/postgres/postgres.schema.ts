import { InvalidOptionError, StrataError } from '../core/errors';
import type { PostgresSession } from './postgres.connection';

/** The schema version this library writes and reads; bumped with every migration added below. */
export const POSTGRES_SCHEMA_VERSION = 1;

/** Table names of one cold tier, from its base name (`strata_cache` by default). */
export interface PostgresTables {
  /** Entries: key, bytes, created/expiry times, invalidation ids. */
  readonly entries: string;
  /** Invalidation times (tags, namespaces, dependencies): what makes an entry invalid without Redis. */
  readonly times: string;
  /** Counters (`increment`), apart from entries. */
  readonly counters: string;
  /** One row: the schema version. */
  readonly schema: string;
  /** Text mixed into the advisory lock keys, so two cold tiers in one database do not block each other. */
  readonly base: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,40}$/;

export function tablesOf(base: string, option = 'postgres.table'): PostgresTables {
  if (typeof base !== 'string' || !IDENTIFIER.test(base)) {
    throw new InvalidOptionError(`${option} must be a lower-case SQL identifier of at most 41 characters, e.g. 'strata_cache'; got ${JSON.stringify(base)}`);
  }
  return { entries: base, times: `${base}_times`, counters: `${base}_counters`, schema: `${base}_schema`, base };
}

/**
 * Each migration brings the schema from the version before it to its own; they run in order, in one
 * transaction, under an advisory lock, so instances starting together apply each exactly once.
 *
 * Keys are `COLLATE "C"`: byte order, so the primary key's b-tree also serves `LIKE 'prefix%'` (the
 * pattern invalidation walk), as `text_pattern_ops` would, without a second index on every write.
 * Times are epoch milliseconds (`bigint`), as the engine's are: `created_at` is compared with
 * invalidation times recorded by other instances' clocks, exactly as in Redis.
 */
function migrations(t: PostgresTables): string[][] {
  return [
    [
      `CREATE TABLE IF NOT EXISTS ${t.entries} (
        key text COLLATE "C" PRIMARY KEY,
        value bytea NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        stale_until bigint NOT NULL,
        tags text[] NOT NULL DEFAULT '{}'
      )`,
      `CREATE INDEX IF NOT EXISTS ${t.entries}_stale_until_idx ON ${t.entries} (stale_until)`,
      `CREATE TABLE IF NOT EXISTS ${t.times} (
        id text COLLATE "C" PRIMARY KEY,
        at bigint NOT NULL,
        keep_until bigint NOT NULL
      )`,
      `CREATE INDEX IF NOT EXISTS ${t.times}_keep_until_idx ON ${t.times} (keep_until)`,
      `CREATE TABLE IF NOT EXISTS ${t.counters} (
        key text COLLATE "C" PRIMARY KEY,
        value bigint NOT NULL,
        stale_until bigint NOT NULL
      )`,
    ],
  ];
}

/**
 * Creates or migrates the cold tier's tables; idempotent and safe with many instances at once (a
 * transaction-scoped advisory lock serializes them; `CREATE … IF NOT EXISTS` makes a repeat a no-op).
 * Resolves with the version now in place. Refuses (StrataError) a schema newer than this library knows.
 */
export async function migrateSchema(session: PostgresSession, tables: PostgresTables, timeoutMs = 30_000): Promise<number> {
  return session.transaction(async (query) => {
    await query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${tables.base}:migrate`]);
    await query(`CREATE TABLE IF NOT EXISTS ${tables.schema} (version integer NOT NULL)`);
    const rows = (await query<{ version: number }>(`SELECT version FROM ${tables.schema}`)).rows;
    const current = rows.length === 0 ? 0 : rows[0].version;
    if (current > POSTGRES_SCHEMA_VERSION) {
      throw new StrataError(
        'E_INVALID_OPTION',
        `Strata cache: the PostgreSQL table '${tables.entries}' has schema version ${current}, newer than this library's ` +
          `${POSTGRES_SCHEMA_VERSION}; upgrade @strata/cache on this instance, or point postgres.table at another table`,
      );
    }
    const steps = migrations(tables);
    for (let version = current; version < steps.length; version++) {
      for (const statement of steps[version]) await query(statement);
    }
    if (rows.length === 0) await query(`INSERT INTO ${tables.schema} (version) VALUES ($1)`, [steps.length]);
    else if (current < steps.length) await query(`UPDATE ${tables.schema} SET version = $1`, [steps.length]);
    return steps.length;
  }, timeoutMs);
}

/** The version in place, 0 when the tables were never created (startup with `migrate: false`). */
export async function schemaVersion(session: PostgresSession, tables: PostgresTables): Promise<number> {
  const found = (await session.query<{ name: string | null }>('SELECT to_regclass($1)::text AS name', [tables.schema])).rows;
  if (found[0]?.name === null || found[0] === undefined) return 0;
  const rows = (await session.query<{ version: number }>(`SELECT version FROM ${tables.schema} LIMIT 1`)).rows;
  return rows[0]?.version ?? 0;
}
