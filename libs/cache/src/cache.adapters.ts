import type { LoggerService } from '@nestjs/common';
import type { ResolvedCacheOptions } from './cache.options';
import { segment } from './core/keys';
import { type CacheTelemetry, NO_CACHE } from './observability/telemetry';
import type { StoreAdapters } from './ports/store-adapters';
import { PostgresAdapters } from './postgres/postgres.adapters';
import { RedisAdapters } from './redis/redis.adapters';
import { RedisPromoter } from './redis/redis-promoter';
import { ChainedAdapters } from './tiers/chained.adapters';

/** How long invalidation times are kept at least (a cold entry may outlive it: see `coldChain`). */
export const THIRTY_DAYS = 30 * 24 * 3600 * 1000;

/** The remote store's adapters one `CacheModule` uses (the `STORE_ADAPTERS` provider). */
export interface SelectedStores {
  /** Redis (with the cold tier under it), the user's `store`, or undefined: memory only. */
  readonly stores: StoreAdapters | undefined;
  /** Redis with the PostgreSQL cold tier under it, when a named cache lists 'postgres' in its tiers. */
  readonly chain: ChainedAdapters | undefined;
}

/**
 * The one place adapters are chosen: Redis when `redis` is set (with PostgreSQL chained under it for the
 * caches that list it), else the user's `store`, else none. Nothing is connected yet: `CacheStack`
 * connects them on module init and closes them on shutdown.
 */
export function selectStores(options: ResolvedCacheOptions, parts: { logger: LoggerService; telemetry: CacheTelemetry; now: () => number }): SelectedStores {
  if (options.redis === undefined) return { stores: options.store, chain: undefined };
  const redis = new RedisAdapters(options.redis, {
    commandTimeout: options.commandTimeout,
    connectTimeout: options.connectTimeout,
    prefix: segment(options.prefix),
    bus: options.bus,
    logger: parts.logger,
  });
  const chain = coldChain(options, redis, parts);
  return { stores: chain ?? redis, chain };
}

/**
 * The cold tier chained under Redis for the named caches that list 'postgres' (undefined when none
 * does: a configured but unused PostgreSQL opens no pool). `pg` is loaded here, only then.
 */
function coldChain(
  options: ResolvedCacheOptions,
  redis: RedisAdapters,
  { logger, telemetry, now }: { logger: LoggerService; telemetry: CacheTelemetry; now: () => number },
): ChainedAdapters | undefined {
  const pg = options.postgres;
  const cold = [...options.caches.values()].filter((policy) => policy.usePostgres);
  if (pg === undefined) return undefined;
  if (cold.length === 0) {
    logger.warn(`postgres is configured but no cache lists 'postgres' in its tiers: the cold tier is not used (e.g. caches: { ocr: { tiers: ['memory', 'redis', 'postgres'] } })`);
    return undefined;
  }
  // Times must outlive every cold entry: its ttl, grace and fail-safe window.
  const longest = Math.max(THIRTY_DAYS, ...cold.map((p) => p.ttl + p.grace + (p.failSafe?.window ?? 0)));
  const postgres = new PostgresAdapters(pg.connection, {
    table: pg.table,
    statementTimeout: pg.statementTimeout,
    connectTimeout: pg.connectTimeout,
    poolSize: pg.poolSize,
    migrate: pg.migrate,
    cleanup: pg.cleanup,
    minRetentionMs: longest,
    now,
    logger,
  });
  const chain: ChainedAdapters = new ChainedAdapters(redis, postgres, new RedisPromoter(redis.remote.client), {
    caches: new Map(cold.map((p) => [p.name, { hotTtl: p.l2Ttl ?? Number.POSITIVE_INFINITY, writeBehind: p.writeBehind }])),
    writeBehind: pg.writeBehind,
    failureThreshold: pg.failureThreshold,
    probeInterval: pg.probeInterval,
    deadline: pg.statementTimeout + pg.connectTimeout,
    promotionLockTtl: 2 * (pg.statementTimeout + pg.connectTimeout) + options.commandTimeout,
    logger,
    telemetry: {
      read: (key, found, ms) => {
        const c = telemetry.counters(chain.coldCacheOf(key) ?? NO_CACHE);
        if (found) c.l3Hits += 1;
        else c.l3Misses += 1;
        c.latency.l3Get.observe(ms);
      },
      wrote: (key, ms) => telemetry.counters(chain.coldCacheOf(key) ?? NO_CACHE).latency.l3Set.observe(ms),
      promoted: (key) => void (telemetry.counters(chain.coldCacheOf(key) ?? NO_CACHE).l3Promotions += 1),
    },
    onError: (error, key) => {
      const cache = key === undefined ? NO_CACHE : (chain.coldCacheOf(key) ?? NO_CACHE);
      telemetry.counters(cache).l3Errors += 1;
      if (telemetry.events.listening !== 0) telemetry.events.emit('error', { cache, tier: 'l3', error, key });
    },
  });
  return chain;
}

/** What a user's L2 adapters lack and what the cache does instead (said once at startup). */
export function storeFallbacks(stores: StoreAdapters, l1: boolean, bus: boolean): string[] {
  const caps = stores.remote.capabilities;
  const notes: string[] = [];
  if (stores.lock === undefined || !caps.lock) notes.push('no lock store, so a miss runs the factory once per instance (not once across instances)');
  if (caps.shared && !bus) {
    notes.push(
      l1
        ? 'no bus, so another instance keeps its L1 copy of a key changed or invalidated here until that copy expires (memory: false when several instances share this store)'
        : 'no bus (L1 is off, so every read goes to the store)',
    );
  }
  if (caps.shared && stores.times === undefined) notes.push('no shared invalidation times, so tags and namespaces are invalidated in this process only');
  else if (caps.shared && !bus) notes.push('invalidation times are read from the store before each L2 hit');
  if (stores.scanner === undefined) notes.push('no key scanner, so invalidatePattern reaches L1 only');
  return notes;
}
