import { COMPRESSION_CODECS, type CompressionCodec } from './codec/compression';
import type { LoggerService } from '@nestjs/common';
import { EntryCipher, type EncryptionOptions } from './codec/encryption';
import { type Duration, describe, toMs } from './core/durations';
import { InvalidOptionError } from './core/errors';
import { DEFAULT_MAX_KEY_LENGTH } from './core/keys';
import type { AdviceThresholds } from './observability/advice';
import type { MetricsOptions } from './observability/prometheus';
import {
  type FactoryTimeoutOptions,
  type FailSafeOptions,
  type LockOptions,
  NO_TIMEOUTS,
  type ResolvedFailSafe,
  type ResolvedLock,
  type ResolvedTimeouts,
  resolveFailSafe,
  resolveJitter,
  resolveLock,
  resolveTimeouts,
} from './resilience/resilience.options';
import type { StoreAdapters } from './ports/store-adapters';
import type { RedisConnectionOptions } from './redis/redis.types';
import { checkFailoverSafety } from './redis/redis.failover';

export type TierName = 'memory' | 'redis';

/** What a tenant resolver sees of a request (Express and Fastify requests both fit). */
export interface TenantRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly user?: unknown;
}

/**
 * Multi-tenancy: every key built inside a request gets the request's tenant as its `t=` segment.
 * Give at most one way to find the tenant of a request; with none, only `CacheService.forTenant(id)`
 * and `TenantContext.run(id, fn)` set it.
 */
export interface TenancyOptions {
  /** The request header that names the tenant, e.g. `'x-tenant-id'`. */
  header?: string;
  /** The property of `req.user` (set by your auth guard) that holds the tenant id, e.g. `'tenantId'`. */
  user?: string;
  /** Any rule of your own; return undefined when the request has no tenant. */
  resolve?(request: TenantRequest): string | undefined;
  /** Most L1 bytes one tenant's entries may hold. Default: a quarter of `memory.maxBytes`. */
  maxL1Bytes?: number;
}

/** The policy of a named cache (`caches: { ai: {...} }`, injected with `@InjectCache('ai')`). */
export interface NamedCacheOptions {
  /** How long an entry is fresh. Default: the module's `ttl`. */
  ttl?: Duration;
  /** How long after `ttl` a stale entry may still be served while it is refreshed. Default: the module's `grace`. */
  grace?: Duration;
  /** Which tiers hold this cache's entries. Default: every configured tier. */
  tiers?: TierName[];
  /** Compress values of at least this many bytes in Redis; `false` never compresses. Default: the module's. */
  compressThreshold?: number | false;
  /** How values over the threshold are compressed (see the module option). Default: the module's. */
  compression?: CompressionCodec;
  /** Serve a stale copy when the factory fails; `false` turns it off. Default: the module's. */
  failSafe?: false | FailSafeOptions;
  /** Factory timeouts. Default: the module's. */
  timeouts?: FactoryTimeoutOptions;
  /** Shorten each ttl by a random fraction up to this (spreads expiries). Default: the module's. */
  ttlJitter?: number;
  /** Schema version of this cache's values, part of its keys: bump it to leave old entries behind. Default: the module's. */
  version?: string | number;
  /** Refresh-ahead fraction for this cache (see the module option). Default: the module's. */
  refreshAhead?: number | false;
}

/** The invalidation bus (Redis pub/sub) that keeps every instance's L1 coherent. */
export interface BusOptions {
  /** How often the subscriber connection is pinged. Default `'1s'`. */
  pingInterval?: Duration;
  /** A PING unanswered this long means the subscriber socket is dead: it is reconnected. Default `'1s'`. */
  pingTimeout?: Duration;
  /**
   * Messages kept in the bus log (a Redis stream capped at about this many), so an instance that missed
   * some (its subscription dropped) reads them back instead of clearing its L1; a gap longer than the
   * log clears L1. `0`: no log. Default `1000` (at 200 messages a second, a gap of 5 s).
   */
  logSize?: number;
}

/** Predictive warming: often-read keys with a known factory are refreshed before they expire. */
export interface WarmingOptions {
  /** How often candidates are looked at. Default `'1s'`. */
  interval?: Duration;
  /** The most background refreshes started per interval. Default `10`. */
  maxRefreshes?: number;
  /** Reads since the last fill that make a key a candidate. Default `5`. */
  minReads?: number;
  /** The most keys whose factory is remembered. Default `1000`. */
  maxKeys?: number;
}

export interface InvalidationOptions {
  /** SCAN COUNT of `invalidatePattern`: keys looked at (and at most unlinked) per command. Default `100`. */
  scanCount?: number;
  /** A pause after each batch of `invalidatePattern`, leaving the server room for other clients. Default `0`. */
  scanPause?: Duration;
  /** How often every instance looks for due `expireAt` invalidations. Default `'1s'`. */
  pollInterval?: Duration;
  /**
   * Hard purge (Redis only): after a tag is invalidated, its keys are also removed from Redis in the
   * background (batches of `scanCount`, `scanPause` apart), to give the memory back before their TTL.
   * Costs every write of an entry with tags one small script call per tag (same round trip) and an index
   * member per key and tag. For memory only: invalidation is exact without it. Default `false`.
   */
  purge?: boolean;
}

export interface CacheModuleOptions {
  /** First segment of every Redis key. Default `'strata'`. */
  prefix?: string;
  /** Namespace of the injected `CacheService`. Default `'default'`. */
  namespace?: string;
  /** How long an entry is fresh. Default `'5m'`. */
  ttl?: Duration;
  /** How long after `ttl` a stale entry may still be served (stale-while-revalidate, fail-safe). Default `0`. */
  grace?: Duration;
  /** Redis (L2). Absent: memory only. */
  redis?: RedisConnectionOptions;
  /**
   * The L2 adapters, instead of `redis`: `new MemoryAdapters()` for an L2-shaped tier in process (a
   * single node, or tests without a server), or your own (PostgreSQL, Keyv) implementing the ports.
   * What the adapters lack (no lock store, no bus) is simply not used.
   */
  store?: StoreAdapters;
  /** L1, in process; `false` turns it off. */
  memory?: false | { maxEntries?: number; maxBytes?: number };
  /** Redis command timeout: a slow or paused Redis costs a call at most this. Default `'250ms'`. */
  commandTimeout?: Duration;
  /** Connect timeout for Redis. Default `'2s'`. */
  connectTimeout?: Duration;
  /** Consecutive Redis failures that open the circuit breaker. Default `3`. */
  failureThreshold?: number;
  /** While the circuit is open, how often Redis is probed. Default `'500ms'`. */
  probeInterval?: Duration;
  /** Compress values of at least this many bytes in Redis; `false` never compresses. Default `1024`. */
  compressThreshold?: number | false;
  /**
   * How values over the threshold are compressed: `'lz4'` (fast to read on every hit) or `'brotli'`
   * (fewer bytes, ~10× the CPU per read; for rarely read, byte-priced storage). Entries written with
   * either stay readable when this changes. Default `'lz4'`.
   */
  compression?: CompressionCodec;
  /**
   * The largest entry a read accepts, inflated or stored as is; larger ones are rejected as corrupt (no
   * zip bombs). Default `maxValueBytes` + 1 MiB (the envelope: times, tags), so a read never takes
   * more than a write could have stored.
   */
  maxInflatedBytes?: number;
  /** Values whose serialized size is over this are not cached (and counted). Default 8 MiB. */
  maxValueBytes?: number;
  /** Caller key segments longer than this are hashed. Default `200`. */
  maxKeyLength?: number;
  /** Hash every caller key segment, so no caller data (PII) appears in Redis keys. Default `false`. */
  hashKeys?: boolean;
  /** Throw cache errors (Redis down, not serializable) instead of degrading. Default `false`. */
  strict?: boolean;
  /** Named caches with their own policy. */
  caches?: Record<string, NamedCacheOptions>;
  /**
   * The invalidation bus between instances (needs `redis`). `false` turns it off: only for a single
   * instance, or with L1 off, since other instances' L1 would then keep invalidated values. Default on.
   */
  bus?: false | BusOptions;
  /** Refresh-ahead: a `getOrSet` hit in this last fraction of its TTL refreshes it in the background. Default `0.1`; `false`: off. */
  refreshAhead?: number | false;
  /** Predictive warming of often-read keys. Default off. */
  warming?: false | WarmingOptions;
  /** Pattern and scheduled invalidation settings. */
  invalidation?: InvalidationOptions;
  /** Schema version of cached values, part of every key of the default cache (and of named caches that set none). */
  version?: string | number;
  /** Multi-tenancy: how a request's tenant is found, and each tenant's share of L1. Default: off. */
  tenancy?: TenancyOptions;
  /** Where the cache logs state changes. Default: Nest's `Logger` with context `StrataCache`. */
  logger?: LoggerService;
  /**
   * Cluster-wide stampede lock on a miss (Redis only): one instance runs the factory, the others wait
   * for its result, at most `ttl`. Default `{ ttl: '10s', pollInterval: '100ms' }` with Redis; `false` turns it off.
   */
  lock?: false | LockOptions;
  /** Serve a stale copy (for at most `window` past its grace) when the factory fails. Default: off. */
  failSafe?: false | FailSafeOptions;
  /** Factory timeouts: `soft` (return a stale copy early) and `hard` (give up). Default: none. */
  timeouts?: FactoryTimeoutOptions;
  /** Shorten each ttl by a random fraction up to this, e.g. `0.1`, so entries written together expire apart. Default `0`. */
  ttlJitter?: number;
  /** AES-256-GCM encryption of values in Redis, with key ids for rotation. Default: off. */
  encryption?: EncryptionOptions;
  /** Prometheus metrics (prom-client), read at scrape time; `false` registers none. Default: prom-client's default registry. */
  metrics?: false | MetricsOptions;
  /** When `stats().advice` and the periodic log line flag trouble; `false` turns advice off. */
  advice?: false | AdviceOptions;
}

/** Thresholds of the advice in `stats()` and in the log (see README, Observability). */
export interface AdviceOptions {
  /** How often the log line is considered (once per condition until it clears); `false`: no log line. Default `'1m'`. */
  interval?: Duration | false;
  /** Lookups a window needs before its rates are judged. Default `100`. */
  minLookups?: number;
  /** A cache whose hit rate is below this is flagged. Default `0.5`. */
  hitRate?: number;
  /** L1 fuller than this (entries or bytes, 0..1) is flagged. Default `0.9`. */
  l1Fill?: number;
  /** More L1 evictions per L1 write than this is flagged. Default `0.2`. */
  evictionRate?: number;
  /** Redis reads whose p99 is over this are flagged. Default `'20ms'`. */
  slowL2?: Duration;
  /** Factory runs whose p95 is over this are flagged. Default `'2s'`. */
  slowFactory?: Duration;
}

export interface ResolvedAdvice extends AdviceThresholds {
  intervalMs: number | false;
}

export interface ResolvedNamedCache {
  name: string;
  ttl: number;
  grace: number;
  useMemory: boolean;
  useRedis: boolean;
  compressThreshold: number | false;
  compression: CompressionCodec;
  failSafe: ResolvedFailSafe | undefined;
  timeouts: ResolvedTimeouts;
  ttlJitter: number;
  version: string | undefined;
  refreshAhead: number;
}

export interface ResolvedCacheOptions {
  prefix: string;
  namespace: string;
  ttl: number;
  grace: number;
  redis: RedisConnectionOptions | undefined;
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
  metrics: false | MetricsOptions;
  advice: false | ResolvedAdvice;
  lock: ResolvedLock | undefined;
  cipher: EntryCipher | undefined;
  bus: false | { pingInterval: number; pingTimeout: number; logSize: number };
  warming: false | { interval: number; maxRefreshes: number; minReads: number; maxKeys: number };
  scanCount: number;
  scanPause: number;
  pollInterval: number;
  /** Hard purge of invalidated tags' keys (needs Redis; inert without). */
  purge: boolean;
}

export interface ResolvedTenancy {
  /** How a request's tenant is found; undefined when requests do not carry one. */
  resolve: ((request: TenantRequest) => string | undefined) | undefined;
  /** Per-tenant L1 quota in bytes; undefined when tenancy or L1 is off. */
  maxL1Bytes: number | undefined;
}

export const DEFAULT_CACHE_NAME = 'default';

const KNOWN = new Set<string>([
  'prefix', 'namespace', 'ttl', 'grace', 'redis', 'store', 'memory', 'commandTimeout', 'connectTimeout', 'failureThreshold',
  'probeInterval', 'compressThreshold', 'compression', 'maxInflatedBytes', 'maxValueBytes', 'maxKeyLength', 'hashKeys', 'strict',
  'caches', 'logger', 'isGlobal', 'metrics', 'advice', 'lock', 'failSafe', 'timeouts', 'ttlJitter', 'encryption',
  'bus', 'refreshAhead', 'warming', 'invalidation', 'version', 'tenancy',
]);
/** Room for an entry's envelope (times, up to MAX_ENTRY_TAGS tags) over its value, in a read's size bound. */
const ENVELOPE_ROOM_BYTES = 1024 * 1024;
const KNOWN_ADVICE = new Set<string>(['interval', 'minLookups', 'hitRate', 'l1Fill', 'evictionRate', 'slowL2', 'slowFactory']);
const KNOWN_TENANCY = new Set<string>(['header', 'user', 'resolve', 'maxL1Bytes']);
const KNOWN_NAMED = new Set<string>(['ttl', 'grace', 'tiers', 'compressThreshold', 'compression', 'failSafe', 'timeouts', 'ttlJitter', 'version', 'refreshAhead']);

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
  const invalidation = group<InvalidationOptions>(options.invalidation, 'invalidation', ['scanCount', 'scanPause', 'pollInterval', 'purge'], false);
  const resolved: ResolvedCacheOptions = {
    prefix: name(options.prefix ?? 'strata', 'prefix'),
    namespace: name(options.namespace ?? 'default', 'namespace'),
    ttl,
    grace,
    redis,
    store,
    memory,
    commandTimeout: toMs(options.commandTimeout ?? '250ms', 'commandTimeout'),
    connectTimeout: toMs(options.connectTimeout ?? '2s', 'connectTimeout'),
    failureThreshold: positiveInt(options.failureThreshold ?? 3, 'failureThreshold', '3'),
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
    resolved.caches.set(cacheName, resolveNamed(cacheName, named, base));
  }
  return resolved;
}

function resolveNamed(cacheName: string, named: NamedCacheOptions, base: ResolvedNamedCache): ResolvedNamedCache {
  const at = `caches.${cacheName}`;
  name(cacheName, 'a cache name');
  if (typeof named !== 'object' || named === null) {
    throw new InvalidOptionError(`${at} must be an object such as { ttl: '1h' }; got ${describe(named)}`);
  }
  for (const key of Object.keys(named)) {
    if (!KNOWN_NAMED.has(key)) {
      throw new InvalidOptionError(`unknown option '${at}.${key}'; a named cache takes ${[...KNOWN_NAMED].join(', ')}`);
    }
  }
  let { useMemory, useRedis } = base;
  if (named.tiers !== undefined) {
    if (!Array.isArray(named.tiers) || named.tiers.length === 0 || named.tiers.some((t) => t !== 'memory' && t !== 'redis')) {
      throw new InvalidOptionError(`${at}.tiers must list 'memory' and/or 'redis', e.g. ['memory', 'redis']; got ${describe(named.tiers)}`);
    }
    useMemory = named.tiers.includes('memory');
    useRedis = named.tiers.includes('redis');
    if (useMemory && !base.useMemory) throw new InvalidOptionError(`${at}.tiers names 'memory' but the module has memory: false`);
    if (useRedis && !base.useRedis) {
      throw new InvalidOptionError(`${at}.tiers names 'redis' but no redis connection (or store) is configured; add the module's 'redis' option`);
    }
  }
  return {
    name: cacheName,
    ttl: named.ttl === undefined ? base.ttl : toMs(named.ttl, `${at}.ttl`),
    grace: named.grace === undefined ? base.grace : toMs(named.grace, `${at}.grace`, { allowZero: true }),
    useMemory,
    useRedis,
    compressThreshold: threshold(named.compressThreshold, `${at}.compressThreshold`, base.compressThreshold),
    compression: codecName(named.compression, `${at}.compression`, base.compression),
    failSafe: resolveFailSafe(named.failSafe, `${at}.failSafe`, base.failSafe),
    timeouts: resolveTimeouts(named.timeouts, `${at}.timeouts`, base.timeouts),
    ttlJitter: resolveJitter(named.ttlJitter, `${at}.ttlJitter`, base.ttlJitter),
    version: named.version === undefined ? base.version : version(named.version, `${at}.version`),
    refreshAhead: refreshFraction(named.refreshAhead, `${at}.refreshAhead`, base.refreshAhead),
  };
}

function resolveMetrics(metrics: CacheModuleOptions['metrics']): false | MetricsOptions {
  if (metrics === false) return false;
  if (metrics === undefined) return {};
  if (typeof metrics !== 'object' || metrics === null) {
    throw new InvalidOptionError(`metrics must be false or { registry?, prefix? }; got ${describe(metrics)}`);
  }
  for (const key of Object.keys(metrics)) {
    if (key !== 'registry' && key !== 'prefix') throw new InvalidOptionError(`unknown option 'metrics.${key}'; metrics takes registry, prefix`);
  }
  if (metrics.registry !== undefined && typeof (metrics.registry as { registerMetric?: unknown }).registerMetric !== 'function') {
    throw new InvalidOptionError(`metrics.registry must be a prom-client Registry (new Registry() from 'prom-client'); got ${describe(metrics.registry)}`);
  }
  return metrics;
}

function resolveAdvice(advice: CacheModuleOptions['advice']): false | ResolvedAdvice {
  if (advice === false) return false;
  const input = advice ?? {};
  if (typeof input !== 'object' || input === null) {
    throw new InvalidOptionError(`advice must be false or { interval?, hitRate?, l1Fill?, evictionRate?, slowL2?, slowFactory?, minLookups? }; got ${describe(advice)}`);
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN_ADVICE.has(key)) throw new InvalidOptionError(`unknown option 'advice.${key}'; advice takes ${[...KNOWN_ADVICE].join(', ')}`);
  }
  return {
    intervalMs: input.interval === false ? false : toMs(input.interval ?? '1m', 'advice.interval'),
    minLookups: positiveInt(input.minLookups ?? 100, 'advice.minLookups', '100'),
    hitRate: fraction(input.hitRate ?? 0.5, 'advice.hitRate', '0.5'),
    l1Fill: fraction(input.l1Fill ?? 0.9, 'advice.l1Fill', '0.9'),
    evictionRate: fraction(input.evictionRate ?? 0.2, 'advice.evictionRate', '0.2'),
    slowL2Ms: toMs(input.slowL2 ?? '20ms', 'advice.slowL2'),
    slowFactoryMs: toMs(input.slowFactory ?? '2s', 'advice.slowFactory'),
  };
}

function fraction(value: unknown, option: string, example: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidOptionError(`${option} must be a number between 0 and 1, e.g. ${example}; got ${describe(value)}`);
  }
  return value;
}

/** An options object with only the keys it knows, or a message that lists them. */
function group<T extends object>(value: unknown, option: string, known: readonly string[], allowFalse: boolean): T | undefined {
  if (value === undefined || (allowFalse && value === false)) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(`${option} must be ${allowFalse ? 'false or ' : ''}an object with ${known.join(', ')}; got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new InvalidOptionError(`unknown option '${option}.${key}'; ${option} takes ${known.join(', ')}`);
  }
  return value as T;
}

function resolveBus(input: CacheModuleOptions['bus'], hasRedis: boolean): ResolvedCacheOptions['bus'] {
  const bus = group<BusOptions>(input, 'bus', ['pingInterval', 'pingTimeout', 'logSize'], true);
  if (input === false || !hasRedis) return false;
  const logSize = bus?.logSize ?? 1000;
  if (!Number.isInteger(logSize) || logSize < 0) {
    throw new InvalidOptionError(`bus.logSize must be a whole number of messages (0 for no log); got ${describe(logSize)}`);
  }
  return {
    pingInterval: toMs(bus?.pingInterval ?? '1s', 'bus.pingInterval'),
    pingTimeout: toMs(bus?.pingTimeout ?? '1s', 'bus.pingTimeout'),
    logSize,
  };
}

function resolveWarming(input: CacheModuleOptions['warming']): ResolvedCacheOptions['warming'] {
  const warming = group<WarmingOptions>(input, 'warming', ['interval', 'maxRefreshes', 'minReads', 'maxKeys'], true);
  if (warming === undefined) return false;
  return {
    interval: toMs(warming.interval ?? '1s', 'warming.interval'),
    maxRefreshes: positiveInt(warming.maxRefreshes ?? 10, 'warming.maxRefreshes', '10'),
    minReads: positiveInt(warming.minReads ?? 5, 'warming.minReads', '5'),
    maxKeys: positiveInt(warming.maxKeys ?? 1000, 'warming.maxKeys', '1000'),
  };
}

function refreshFraction(value: number | false | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === false) return 0;
  if (typeof value !== 'number' || !(value > 0 && value < 1)) {
    throw new InvalidOptionError(`${option} must be a fraction of the TTL between 0 and 1 (e.g. 0.1 for the last 10%) or false; got ${describe(value)}`);
  }
  return value;
}

function version(value: unknown, option: string): string | undefined {
  if (value === undefined) return undefined;
  if ((typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && value.length > 0)) return String(value);
  throw new InvalidOptionError(`${option} must be a non-empty string or a number, e.g. 2 or '2024-06'; got ${describe(value)}`);
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

function resolveTenancy(tenancy: CacheModuleOptions['tenancy'], memory: ResolvedCacheOptions['memory']): ResolvedTenancy {
  if (tenancy === undefined) return { resolve: undefined, maxL1Bytes: undefined };
  if (typeof tenancy !== 'object' || tenancy === null) {
    throw new InvalidOptionError(`tenancy must be an object such as { header: 'x-tenant-id' }; got ${describe(tenancy)}`);
  }
  for (const key of Object.keys(tenancy)) {
    if (!KNOWN_TENANCY.has(key)) throw new InvalidOptionError(`unknown option 'tenancy.${key}'; tenancy takes ${[...KNOWN_TENANCY].join(', ')}`);
  }
  const ways = (['header', 'user', 'resolve'] as const).filter((way) => tenancy[way] !== undefined);
  if (ways.length > 1) {
    throw new InvalidOptionError(`tenancy takes one of header, user or resolve, not ${ways.join(' and ')}: keep the one that finds your tenant`);
  }
  let resolve: ResolvedTenancy['resolve'];
  if (tenancy.header !== undefined) {
    const header = name(tenancy.header, 'tenancy.header').toLowerCase();
    resolve = (request) => tenantId(request.headers[header]);
  } else if (tenancy.user !== undefined) {
    const property = name(tenancy.user, 'tenancy.user');
    resolve = (request) => {
      const user = request.user;
      return typeof user === 'object' && user !== null ? tenantId((user as Record<string, unknown>)[property]) : undefined;
    };
  } else if (tenancy.resolve !== undefined) {
    if (typeof tenancy.resolve !== 'function') {
      throw new InvalidOptionError(`tenancy.resolve must be a function (request) => string | undefined; got ${describe(tenancy.resolve)}`);
    }
    const custom = tenancy.resolve;
    resolve = (request) => tenantId(custom(request));
  }
  let maxL1Bytes: number | undefined;
  if (memory !== false) {
    maxL1Bytes = positiveInt(tenancy.maxL1Bytes ?? Math.max(1, Math.floor(memory.maxBytes / 4)), 'tenancy.maxL1Bytes', '16 * 1024 * 1024');
  } else if (tenancy.maxL1Bytes !== undefined) {
    throw new InvalidOptionError(`tenancy.maxL1Bytes needs L1; remove it or remove 'memory: false'`);
  }
  return { resolve, maxL1Bytes };
}

/** A tenant id from a header or a user property: a non-empty string (a number is taken as its text). */
function tenantId(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
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

function resolveRedis(redis: CacheModuleOptions['redis']): RedisConnectionOptions | undefined {
  if (redis === undefined || redis === null) return undefined;
  if (typeof redis === 'string') {
    if (!/^rediss?:\/\//.test(redis)) {
      throw new InvalidOptionError(`redis must be a URL like 'redis://127.0.0.1:6379' or an options object; got ${describe(redis)}`);
    }
    return redis;
  }
  if (typeof redis !== 'object') {
    throw new InvalidOptionError(
      `redis must be a URL, { url }, ioredis options, { sentinels, name }, { cluster: [...] } or { client }; got ${describe(redis)}`,
    );
  }
  if ('url' in redis && (typeof redis.url !== 'string' || !/^rediss?:\/\//.test(redis.url))) {
    throw new InvalidOptionError(`redis.url must be a URL like 'redis://127.0.0.1:6379'; got ${describe(redis.url)}`);
  }
  if ('sentinels' in redis && (!Array.isArray(redis.sentinels) || redis.sentinels.length === 0 || typeof redis.name !== 'string')) {
    throw new InvalidOptionError(`redis with sentinels needs { sentinels: [{ host, port }, ...], name: 'mymaster' }`);
  }
  if ('cluster' in redis && (!Array.isArray(redis.cluster) || redis.cluster.length === 0)) {
    throw new InvalidOptionError(`redis.cluster must list at least one node, e.g. [{ host: '127.0.0.1', port: 7000 }]`);
  }
  checkFailoverSafety(redis);
  checkNoKeyPrefix(redis);
  return redis;
}

/**
 * ioredis's `keyPrefix` is added to the keys of commands, but not to SCAN patterns nor to the keys a Lua
 * script builds, so pattern invalidation would delete nothing and leave stale values: refused.
 */
function checkNoKeyPrefix(redis: object): void {
  const options = (x: unknown): Record<string, unknown> | undefined => (typeof x === 'object' && x !== null ? (x as Record<string, unknown>) : undefined);
  const r = redis as Record<string, unknown>;
  const client = options(r.client);
  const candidates = [r, options(r.options), options(options(r.options)?.redisOptions), options(client?.options), options(options(client?.options)?.redisOptions)];
  const keyPrefix = candidates.map((c) => c?.keyPrefix).find((p) => typeof p === 'string' && p !== '');
  if (keyPrefix === undefined) return;
  const fix =
    client !== undefined
      ? `pass a client without it (e.g. { client: client.duplicate({ keyPrefix: '' }) })`
      : `remove keyPrefix from the redis options`;
  throw new InvalidOptionError(
    `the ioredis keyPrefix ${JSON.stringify(keyPrefix)} is not supported: SCAN patterns and scripts do not see it, so invalidatePattern ` +
      `would delete nothing; ${fix} and set CacheModule.forRoot({ prefix: ${JSON.stringify(String(keyPrefix).replace(/:$/, ''))} }) ` +
      `instead (every key the cache writes starts with '<prefix>:')`,
  );
}

function threshold(value: number | false | undefined, option: string, fallback: number | false): number | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  return positiveInt(value, option, '1024', true);
}

function positiveInt(value: unknown, option: string, example: string, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new InvalidOptionError(`${option} must be a ${allowZero ? 'non-negative' : 'positive'} whole number, e.g. ${example}; got ${describe(value)}`);
  }
  return value;
}

function bool(value: unknown, option: string): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(`${option} must be true or false; got ${describe(value)}`);
  return value;
}

function name(value: unknown, option: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError(`${option} must be a non-empty string such as 'app'; got ${describe(value)}`);
  }
  return value;
}

function codecName(value: unknown, at: string, fallback: CompressionCodec): CompressionCodec {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (COMPRESSION_CODECS as readonly string[]).includes(value)) return value as CompressionCodec;
  throw new InvalidOptionError(`${at} must be ${COMPRESSION_CODECS.map((c) => `'${c}'`).join(' or ')}, got ${describe(value)}`);
}
