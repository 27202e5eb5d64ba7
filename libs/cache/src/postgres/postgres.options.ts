import { type Duration, describe, toMs } from '../core/durations';
import { InvalidOptionError } from '../core/errors';
import { tablesOf } from './postgres.schema';
import type { PostgresConnectionOptions } from './postgres.types';

/** The cold tier (L3) on PostgreSQL: `postgres: { url }` or `{ pool }`, plus these settings. */
export type PostgresOptions = PostgresConnectionOptions & {
  /** Base name of the tables (`<table>`, `<table>_times`, `<table>_counters`, `<table>_schema`). Default `'strata_cache'`. */
  table?: string;
  /** Each statement's timeout (server and client side): a slow or frozen database costs a call at most this. Default `'500ms'`. */
  statementTimeout?: Duration;
  /** Most time to get a connection (open one, or wait for a free one). Default `'2s'`. */
  connectTimeout?: Duration;
  /** Connections of the pool the cache opens (not of a pool you pass). Default `5`. */
  poolSize?: number;
  /** Create or migrate the tables at startup; `false` when `migratePostgresSchema()` runs at deploy. Default `true`. */
  migrate?: boolean;
  /** Removal of expired rows in batches by one instance at a time; `false` turns it off. */
  cleanup?: false | { interval?: Duration; batch?: number; pause?: Duration };
  /** Consecutive cold-tier failures that open its circuit breaker. Default: the module's `failureThreshold`. */
  failureThreshold?: number;
  /** While its circuit is open, how often PostgreSQL is probed. Default `'1s'`. */
  probeInterval?: Duration;
  /** For caches with `writeBehind: true`: how long a write waits at most, and how many wait at most. Default `{ flushInterval: '100ms', maxQueued: 10000 }`. */
  writeBehind?: { flushInterval?: Duration; maxQueued?: number };
};

export interface ResolvedPostgres {
  connection: PostgresConnectionOptions;
  table: string;
  statementTimeout: number;
  connectTimeout: number;
  poolSize: number;
  migrate: boolean;
  cleanup: false | { interval: number; batch: number; pause: number };
  failureThreshold: number;
  probeInterval: number;
  writeBehind: { flushInterval: number; maxQueued: number };
}

const KNOWN = ['url', 'pool', 'poolOptions', 'table', 'statementTimeout', 'connectTimeout', 'poolSize', 'migrate', 'cleanup', 'failureThreshold', 'probeInterval', 'writeBehind'];

export function resolvePostgres(input: PostgresOptions | undefined, failureThreshold: number): ResolvedPostgres | undefined {
  if (input === undefined) return undefined;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidOptionError(`postgres must be { url: 'postgres://…' } or { pool } (a pg Pool); got ${describe(input)}`);
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN.includes(key)) throw new InvalidOptionError(`unknown option 'postgres.${key}'; postgres takes ${KNOWN.join(', ')}`);
  }
  const hasUrl = typeof input.url === 'string' && input.url.length > 0;
  const hasPool = input.pool !== undefined && input.pool !== null;
  if (hasUrl === hasPool) {
    throw new InvalidOptionError(
      `postgres needs exactly one of url (a connection string, e.g. process.env.DATABASE_URL) or pool (a pg Pool of your app); got ${hasUrl ? 'both' : 'neither'}`,
    );
  }
  if (hasPool && typeof (input.pool as { query?: unknown }).query !== 'function') {
    throw new InvalidOptionError(`postgres.pool must be a pg Pool (new Pool() from 'pg'); got ${describe(input.pool)}`);
  }
  const table = input.table ?? 'strata_cache';
  tablesOf(table);
  const cleanup = input.cleanup;
  if (cleanup !== undefined && cleanup !== false && (typeof cleanup !== 'object' || cleanup === null)) {
    throw new InvalidOptionError(`postgres.cleanup must be false or { interval?, batch?, pause? }; got ${describe(cleanup)}`);
  }
  const batch = cleanup === false ? 0 : (cleanup?.batch ?? 1000);
  if (!Number.isInteger(batch) || batch < 0 || (cleanup !== false && batch === 0)) {
    throw new InvalidOptionError(`postgres.cleanup.batch must be a whole number of rows, e.g. 1000; got ${describe(batch)}`);
  }
  const poolSize = input.poolSize ?? 5;
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new InvalidOptionError(`postgres.poolSize must be a whole number of connections, e.g. 5; got ${describe(poolSize)}`);
  const threshold = input.failureThreshold ?? failureThreshold;
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new InvalidOptionError(`postgres.failureThreshold must be a whole number of failures, e.g. 3; got ${describe(threshold)}`);
  }
  const behind = input.writeBehind ?? {};
  if (typeof behind !== 'object' || behind === null) throw new InvalidOptionError(`postgres.writeBehind must be { flushInterval?, maxQueued? }; got ${describe(behind)}`);
  const maxQueued = behind.maxQueued ?? 10_000;
  if (!Number.isInteger(maxQueued) || maxQueued < 1) throw new InvalidOptionError(`postgres.writeBehind.maxQueued must be a whole number of writes, e.g. 10000; got ${describe(maxQueued)}`);
  if (input.migrate !== undefined && typeof input.migrate !== 'boolean') throw new InvalidOptionError(`postgres.migrate must be true or false; got ${describe(input.migrate)}`);
  return {
    connection: hasUrl ? { url: input.url!, poolOptions: input.poolOptions } : { pool: input.pool! },
    table,
    statementTimeout: toMs(input.statementTimeout ?? '500ms', 'postgres.statementTimeout'),
    connectTimeout: toMs(input.connectTimeout ?? '2s', 'postgres.connectTimeout'),
    poolSize,
    migrate: input.migrate ?? true,
    cleanup:
      cleanup === false
        ? false
        : {
            interval: toMs(cleanup?.interval ?? '1m', 'postgres.cleanup.interval'),
            batch,
            pause: toMs(cleanup?.pause ?? '10ms', 'postgres.cleanup.pause', { allowZero: true }),
          },
    failureThreshold: threshold,
    probeInterval: toMs(input.probeInterval ?? '1s', 'postgres.probeInterval'),
    writeBehind: { flushInterval: toMs(behind.flushInterval ?? '100ms', 'postgres.writeBehind.flushInterval'), maxQueued },
  };
}

/** A named cache's cold-tier settings (`caches: { ocr: { tiers: ['memory', 'redis', 'postgres'], l2Ttl: '1h' } }`). */
export interface ColdCacheOptions {
  /**
   * With 'postgres': how long Redis keeps an entry of this cache at most (written or promoted from
   * PostgreSQL), so Redis memory holds the recent part and PostgreSQL the whole `ttl`. Default: the entry's own lifetime.
   */
  l2Ttl?: Duration;
  /**
   * With 'postgres': acknowledge a write once Redis has it and send it to PostgreSQL within
   * `postgres.writeBehind.flushInterval`, in batches. Faster writes, but a crash (or a PostgreSQL failure,
   * counted and logged) loses the PostgreSQL copy of the writes not yet sent. Default `false`: write-through.
   */
  writeBehind?: boolean;
}

export interface ResolvedColdCache {
  /** The cold tier holds this cache's entries too. */
  usePostgres: boolean;
  /** With the cold tier: how long Redis keeps an entry at most (ms); undefined: its own lifetime. */
  l2Ttl: number | undefined;
  /** With the cold tier: writes reach PostgreSQL after Redis, in batches. */
  writeBehind: boolean;
}

/** The module's `postgres` sits under Redis: it needs the module's `redis`. */
export function checkColdUnderRedis(postgres: ResolvedPostgres | undefined, hasRedis: boolean): void {
  if (postgres !== undefined && !hasRedis) {
    throw new InvalidOptionError(`postgres (the cold tier, L3) sits under Redis: add the module's 'redis' option, or remove 'postgres'`);
  }
}

/** A named cache (at `at`) that lists 'postgres' in its tiers: there is a PostgreSQL, and 'redis' is listed too. */
export function checkColdTiers(at: string, tiers: { usePostgres: boolean; useRedis: boolean }, hasPostgres: boolean): void {
  if (tiers.usePostgres && !hasPostgres) {
    throw new InvalidOptionError(
      `${at}.tiers names 'postgres' but no PostgreSQL is configured; add the module's postgres option, e.g. ` +
        `postgres: { url: process.env.DATABASE_URL } (there is no memory-only cold tier)`,
    );
  }
  if (tiers.usePostgres && !tiers.useRedis) {
    throw new InvalidOptionError(`${at}.tiers names 'postgres' without 'redis': the cold tier sits under Redis; use ['memory', 'redis', 'postgres']`);
  }
}

/** The cold-tier settings of a named cache (at `at`), which only apply when it lists 'postgres'. */
export function resolveColdCache(at: string, named: ColdCacheOptions, usePostgres: boolean): ResolvedColdCache {
  for (const option of ['l2Ttl', 'writeBehind'] as const) {
    if (named[option] !== undefined && !usePostgres) {
      throw new InvalidOptionError(`${at}.${option} only applies with the cold tier: add 'postgres' to ${at}.tiers, or remove ${option}`);
    }
  }
  if (named.writeBehind !== undefined && typeof named.writeBehind !== 'boolean') {
    throw new InvalidOptionError(`${at}.writeBehind must be true or false; got ${describe(named.writeBehind)}`);
  }
  return {
    usePostgres,
    l2Ttl: named.l2Ttl === undefined ? undefined : toMs(named.l2Ttl, `${at}.l2Ttl`),
    writeBehind: named.writeBehind ?? false,
  };
}
