import type { CompressionCodec } from './codec/compression';
import type { LoggerService } from '@nestjs/common';
import { EntryCipher, type EncryptionOptions } from './codec/encryption';
import { type Duration, describe, toMs } from './core/durations';
import { InvalidOptionError } from './core/errors';
import { DEFAULT_MAX_KEY_LENGTH } from './core/keys';
import type { MetricsOptions, ResolvedMetrics } from './observability/prometheus';
import { type AdviceOptions, type ResolvedAdvice, resolveAdvice, resolveMetrics } from './observability/observability.options';
import { type ResolvedTenancy, type TenancyOptions, resolveTenancy } from './tenancy/tenancy.options';
import { bool, group, name, positiveInt, threshold } from './core/option-checks';
import {
  type FactoryTimeoutOptions,
  type FailSafeOptions,
  type LockOptions,
  NO_TIMEOUTS,
  type ResolvedLock,
  resolveFailSafe,
  resolveJitter,
  resolveLock,
  resolveTimeouts,
} from './resilience/resilience.options';
import type { StoreAdapters } from './ports/store-adapters';
import type { RedisConnectionOptions } from './redis/redis.types';
import { resolveRedis } from './redis/redis.options';
import { type BusOptions, type InvalidationOptions, type ResolvedBus, resolveBus } from './invalidation/invalidation.options';
import { type WarmingOptions, resolveWarming } from './warming/warming.options';
import { type PostgresOptions, type ResolvedPostgres, checkColdUnderRedis, resolvePostgres } from './postgres/postgres.options';
import { DEFAULT_CACHE_NAME, type NamedCacheOptions, type ResolvedNamedCache, codecName, refreshFraction, resolveNamed, version } from './named-cache.options';

export { DEFAULT_CACHE_NAME } from './named-cache.options';
export type { NamedCacheOptions, ResolvedNamedCache, TierName } from './named-cache.options';
export type { PostgresOptions, ResolvedPostgres } from './postgres/postgres.options';
export type { BusOptions, InvalidationOptions } from './invalidation/invalidation.options';
export type { WarmingOptions } from './warming/warming.options';
export type { AdviceOptions, ResolvedAdvice } from './observability/observability.options';
export type { ResolvedTenancy, TenancyOptions, TenantRequest } from './tenancy/tenancy.options';

export interface CacheModuleOptions {
  /** First segment of every Redis key. Default `'strata'`. */
  prefix?: string | undefined;
  /** Namespace of the injected `CacheService`. Default `'default'`. */
  namespace?: string | undefined;
  /** How long an entry is fresh. Default `'5m'`. */
  ttl?: Duration | undefined;
  /** How long after `ttl` a stale entry may still be served (stale-while-revalidate, fail-safe). Default `0`. */
  grace?: Duration | undefined;
  /** Redis (L2). Absent: memory only. */
  redis?: RedisConnectionOptions | undefined;
  /** PostgreSQL, the cold tier (L3) of the named caches that list 'postgres' in their `tiers`. Needs `redis`. */
  postgres?: PostgresOptions | undefined;
  /**
   * The L2 adapters, instead of `redis`: `new MemoryAdapters()` for an L2-shaped tier in process (a
   * single node, or tests without a server), or your own (PostgreSQL, Keyv) implementing the ports.
   * What the adapters lack (no lock store, no bus) is simply not used.
   */
  store?: StoreAdapters | undefined;
  /** L1, in process; `false` turns it off. */
  memory?: false | { maxEntries?: number; maxBytes?: number } | undefined;
  /** Redis command timeout: a slow or paused Redis costs a call at most this. Default `'250ms'`. */
  commandTimeout?: Duration | undefined;
  /** Connect timeout for Redis. Default `'2s'`. */
  connectTimeout?: Duration | undefined;
  /** Consecutive Redis failures that open the circuit breaker. Default `3`. */
  failureThreshold?: number | undefined;
  /** While the circuit is open, how often Redis is probed. Default `'500ms'`. */
  probeInterval?: Duration | undefined;
  /** Compress values of at least this many bytes in Redis; `false` never compresses. Default `1024`. */
  compressThreshold?: number | false | undefined;
  /**
   * How values over the threshold are compressed: `'lz4'` (fast to read on every hit) or `'brotli'`
   * (fewer bytes, ~10× the CPU per read; for rarely read, byte-priced storage). Entries written with
   * either stay readable when this changes. Default `'lz4'`.
   */
  compression?: CompressionCodec | undefined;
  /**
   * The largest entry a read accepts, inflated or stored as is; larger ones are rejected as corrupt (no
   * zip bombs). Default `maxValueBytes` + 1 MiB (the envelope: times, tags), so a read never takes
   * more than a write could have stored.
   */
  maxInflatedBytes?: number | undefined;
  /** Values whose serialized size is over this are not cached (and counted). Default 8 MiB. */
  maxValueBytes?: number | undefined;
  /** Caller key segments longer than this are hashed. Default `200`. */
  maxKeyLength?: number | undefined;
  /** Hash every caller key segment, so no caller data (PII) appears in Redis keys. Default `false`. */
  hashKeys?: boolean | undefined;
  /** Throw cache errors (Redis down, not serializable) instead of degrading. Default `false`. */
  strict?: boolean | undefined;
  /** Named caches with their own policy. */
  caches?: Record<string, NamedCacheOptions> | undefined;
  /**
   * The invalidation bus between instances (needs `redis`). `false` turns it off: only for a single
   * instance, or with L1 off, since other instances' L1 would then keep invalidated values. Default on.
   */
  bus?: false | BusOptions | undefined;
  /** Refresh-ahead: a `getOrSet` hit in this last fraction of its TTL refreshes it in the background. Default `0.1`; `false`: off. */
  refreshAhead?: number | false | undefined;
  /** Predictive warming of often-read keys. Default off. */
  warming?: false | WarmingOptions | undefined;
  /** Pattern and scheduled invalidation settings. */
  invalidation?: InvalidationOptions | undefined;
  /** Schema version of cached values, part of every key of the default cache (and of named caches that set none). */
  version?: string | number | undefined;
  /** Multi-tenancy: how a request's tenant is found, and each tenant's share of L1. Default: off. */
  tenancy?: TenancyOptions | undefined;
  /** Where the cache logs state changes. Default: Nest's `Logger` with context `StrataCache`. */
  logger?: LoggerService | undefined;
  /**
   * Cluster-wide stampede lock on a miss (Redis only): one instance runs the factory, the others wait
   * for its result, at most `ttl`. Default `{ ttl: '10s', pollInterval: '100ms' }` with Redis (`true` says the
   * same); `false` turns it off.
   */
  lock?: boolean | LockOptions | undefined;
  /** Serve a stale copy (for at most `window` past its grace) when the factory fails. Default: off. */
  failSafe?: false | FailSafeOptions | undefined;
  /** Factory timeouts: `soft` (return a stale copy early) and `hard` (give up). Default: none. */
  timeouts?: FactoryTimeoutOptions | undefined;
  /** Shorten each ttl by a random fraction up to this, e.g. `0.1`, so entries written together expire apart. Default `0`. */
  ttlJitter?: number | undefined;
  /** AES-256-GCM encryption of values in Redis, with key ids for rotation. Default: off. */
  encryption?: EncryptionOptions | undefined;
  /** Prometheus metrics (prom-client, an optional peer), read at scrape time; `false` registers none. Default: prom-client's default registry when prom-client is installed, else none. */
  metrics?: false | MetricsOptions | undefined;
  /** When `stats().advice` and the periodic log line flag trouble; `false` turns advice off. */
  advice?: false | AdviceOptions | undefined;
}

export interface ResolvedCacheOptions {
  prefix: string;
  namespace: string;
  ttl: number;
  grace: number;
  redis: RedisConnectionOptions | undefined;
  postgres: ResolvedPostgres | undefined;
  /** The user's own L2 adapters (`store`); undefined with `redis` or memory only. */
  store: StoreAdapters | undefined;
  memory: false | { maxEntries: number; maxBytes: number };
  commandTimeout: number;
  connectTimeout: number;
  failureThreshold: number;
  probeInterval: number;
  compressThreshold: number | false;
  compression: CompressionCodec;
  maxInflatedBytes: number;
  maxValueBytes: number;
  maxKeyLength: number;
  hashKeys: boolean;
  strict: boolean;
  caches: Map<string, ResolvedNamedCache>;
  tenancy: ResolvedTenancy;
  logger: LoggerService | undefined;
  metrics: ResolvedMetrics;
  advice: false | ResolvedAdvice;
  lock: ResolvedLock | undefined;
  cipher: EntryCipher | undefined;
  bus: ResolvedBus;
  warming: false | { interval: number; maxRefreshes: number; minReads: number; maxKeys: number };
  scanCount: number;
  scanPause: number;
  pollInterval: number;
  /** Hard purge of invalidated tags' keys (needs Redis; inert without). */
  purge: boolean;
}

/** The module's option keys, derived from the type (with the builder's `isGlobal`) so a new option cannot be forgotten here. */
const KNOWN = new Set<string>(
  Object.keys({
    prefix: true, namespace: true, ttl: true, grace: true, redis: true, store: true, memory: true, commandTimeout: true,
    connectTimeout: true, failureThreshold: true, probeInterval: true, compressThreshold: true, compression: true, maxInflatedBytes: true,
    maxValueBytes: true, maxKeyLength: true, hashKeys: true, strict: true, caches: true, logger: true, isGlobal: true,
    metrics: true, advice: true, lock: true, failSafe: true, timeouts: true, ttlJitter: true, encryption: true,
    bus: true, refreshAhead: true, warming: true, invalidation: true, version: true, tenancy: true, postgres: true,
  } satisfies Record<keyof CacheModuleOptions | 'isGlobal', true>),
);
/** Room for an entry's envelope (times, up to MAX_ENTRY_TAGS tags) over its value, in a read's size bound. */
const ENVELOPE_ROOM_BYTES = 1024 * 1024;
/**
 * Checks every option once, at startup, and fills in the defaults. Each mistake gets one message that
 * names the option and says how to fix it.
 */
export function resolveOptions(input: CacheModuleOptions | undefined): ResolvedCacheOptions {
  const options = input ?? {};
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(`CacheModule.forRoot() takes an options object, e.g. { ttl: '5m' }; got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidOptionError(`unknown option '${key}'; known options: ${[...KNOWN].join(', ')}`);
  }
  const ttl = toMs(options.ttl ?? '5m', 'ttl');
  const grace = toMs(options.grace ?? 0, 'grace', { allowZero: true });
  const compressThreshold = threshold(options.compressThreshold, 'compressThreshold', 1024);
  const compression = codecName(options.compression, 'compression', 'lz4');
  const memory = resolveMemory(options.memory);
  const maxValueBytes = positiveInt(options.maxValueBytes ?? 8 * 1024 * 1024, 'maxValueBytes', '8 * 1024 * 1024');
  const redis = resolveRedis(options.redis);
  const store = resolveStore(options.store, redis !== undefined);
  const remote = redis !== undefined || store !== undefined;
  if (memory === false && !remote) {
    throw new InvalidOptionError(`memory: false needs a redis connection, or nothing is cached at all; remove 'memory: false' or add 'redis'`);
  }
  const failureThreshold = positiveInt(options.failureThreshold ?? 3, 'failureThreshold', '3');
  const postgres = resolvePostgres(options.postgres, failureThreshold);
  checkColdUnderRedis(postgres, redis !== undefined);
  const invalidation = group<InvalidationOptions>(options.invalidation, 'invalidation', ['scanCount', 'scanPause', 'pollInterval', 'purge'], false);
  const resolved: ResolvedCacheOptions = {
    prefix: name(options.prefix ?? 'strata', 'prefix'),
    namespace: name(options.namespace ?? 'default', 'namespace'),
    ttl,
    grace,
    redis,
    postgres,
    store,
    memory,
    commandTimeout: toMs(options.commandTimeout ?? '250ms', 'commandTimeout'),
    connectTimeout: toMs(options.connectTimeout ?? '2s', 'connectTimeout'),
    failureThreshold,
    probeInterval: toMs(options.probeInterval ?? '500ms', 'probeInterval'),
    compressThreshold,
    compression,
    maxInflatedBytes: positiveInt(options.maxInflatedBytes ?? maxValueBytes + ENVELOPE_ROOM_BYTES, 'maxInflatedBytes', 'maxValueBytes + 1 MiB'),
    maxValueBytes,
    maxKeyLength: positiveInt(options.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH, 'maxKeyLength', '200'),
    hashKeys: bool(options.hashKeys ?? false, 'hashKeys'),
    strict: bool(options.strict ?? false, 'strict'),
    caches: new Map(),
    tenancy: resolveTenancy(options.tenancy, memory),
    logger: options.logger,
    metrics: resolveMetrics(options.metrics),
    advice: resolveAdvice(options.advice),
    lock: resolveLock(options.lock, remote),
    cipher: options.encryption === undefined ? undefined : EntryCipher.from(options.encryption),
    bus: resolveBus(options.bus, remote),
    warming: resolveWarming(options.warming),
    scanCount: positiveInt(invalidation?.scanCount ?? 100, 'invalidation.scanCount', '100'),
    scanPause: toMs(invalidation?.scanPause ?? 0, 'invalidation.scanPause', { allowZero: true }),
    pollInterval: toMs(invalidation?.pollInterval ?? '1s', 'invalidation.pollInterval'),
    purge: bool(invalidation?.purge ?? false, 'invalidation.purge') && remote,
  };
  const base: ResolvedNamedCache = {
    name: DEFAULT_CACHE_NAME,
    ttl,
    grace,
    useMemory: memory !== false,
    useRedis: remote,
    usePostgres: false,
    l2Ttl: undefined,
    writeBehind: false,
    compressThreshold,
    compression,
    failSafe: resolveFailSafe(options.failSafe, 'failSafe', undefined),
    timeouts: resolveTimeouts(options.timeouts, 'timeouts', NO_TIMEOUTS),
    ttlJitter: resolveJitter(options.ttlJitter, 'ttlJitter', 0),
    version: version(options.version, 'version'),
    refreshAhead: refreshFraction(options.refreshAhead, 'refreshAhead', 0.1),
  };
  resolved.caches.set(DEFAULT_CACHE_NAME, base);
  for (const [cacheName, named] of Object.entries(options.caches ?? {})) {
    resolved.caches.set(cacheName, resolveNamed(cacheName, named, base, postgres !== undefined));
  }
  return resolved;
}

function resolveMemory(memory: CacheModuleOptions['memory']): ResolvedCacheOptions['memory'] {
  if (memory === false) return false;
  if (memory !== undefined && (typeof memory !== 'object' || memory === null)) {
    throw new InvalidOptionError(`memory must be false or { maxEntries?, maxBytes? }; got ${describe(memory)}`);
  }
  return {
    maxEntries: positiveInt(memory?.maxEntries ?? 10_000, 'memory.maxEntries', '10_000'),
    maxBytes: positiveInt(memory?.maxBytes ?? 64 * 1024 * 1024, 'memory.maxBytes', '64 * 1024 * 1024'),
  };
}

function resolveStore(store: CacheModuleOptions['store'], hasRedis: boolean): StoreAdapters | undefined {
  if (store === undefined || store === null) return undefined;
  if (hasRedis) throw new InvalidOptionError(`redis and store are two ways to give L2; pass one of them`);
  const remote = (store as Partial<StoreAdapters>).remote;
  if (typeof store !== 'object' || typeof remote?.get !== 'function' || typeof store.close !== 'function') {
    throw new InvalidOptionError(`store must be a set of adapters ({ remote, close(), ... }), e.g. new MemoryAdapters(); got ${describe(store)}`);
  }
  return store;
}

