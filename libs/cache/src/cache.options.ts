import type { LoggerService } from '@nestjs/common';
import { type Duration, describe, toMs } from './core/durations';
import { InvalidOptionError } from './core/errors';
import { DEFAULT_MAX_KEY_LENGTH } from './core/keys';
import type { RedisConnectionOptions } from './tiers/redis.connection';

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
  /** The most a compressed value may inflate to before it is rejected as corrupt. Default 64 MiB. */
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
  /** Multi-tenancy: how a request's tenant is found, and each tenant's share of L1. Default: off. */
  tenancy?: TenancyOptions;
  /** Where the cache logs state changes. Default: Nest's `Logger` with context `StrataCache`. */
  logger?: LoggerService;
}

export interface ResolvedNamedCache {
  name: string;
  ttl: number;
  grace: number;
  useMemory: boolean;
  useRedis: boolean;
  compressThreshold: number | false;
}

export interface ResolvedCacheOptions {
  prefix: string;
  namespace: string;
  ttl: number;
  grace: number;
  redis: RedisConnectionOptions | undefined;
  memory: false | { maxEntries: number; maxBytes: number };
  commandTimeout: number;
  connectTimeout: number;
  failureThreshold: number;
  probeInterval: number;
  compressThreshold: number | false;
  maxInflatedBytes: number;
  maxValueBytes: number;
  maxKeyLength: number;
  hashKeys: boolean;
  strict: boolean;
  caches: Map<string, ResolvedNamedCache>;
  tenancy: ResolvedTenancy;
  logger: LoggerService | undefined;
}

export interface ResolvedTenancy {
  /** How a request's tenant is found; undefined when requests do not carry one. */
  resolve: ((request: TenantRequest) => string | undefined) | undefined;
  /** Per-tenant L1 quota in bytes; undefined when tenancy or L1 is off. */
  maxL1Bytes: number | undefined;
}

export const DEFAULT_CACHE_NAME = 'default';

const KNOWN = new Set<string>([
  'prefix', 'namespace', 'ttl', 'grace', 'redis', 'memory', 'commandTimeout', 'connectTimeout', 'failureThreshold',
  'probeInterval', 'compressThreshold', 'maxInflatedBytes', 'maxValueBytes', 'maxKeyLength', 'hashKeys', 'strict',
  'caches', 'tenancy', 'logger', 'isGlobal',
]);
const KNOWN_TENANCY = new Set<string>(['header', 'user', 'resolve', 'maxL1Bytes']);
const KNOWN_NAMED = new Set<string>(['ttl', 'grace', 'tiers', 'compressThreshold']);

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
  const memory = resolveMemory(options.memory);
  const redis = resolveRedis(options.redis);
  if (memory === false && redis === undefined) {
    throw new InvalidOptionError(`memory: false needs a redis connection, or nothing is cached at all; remove 'memory: false' or add 'redis'`);
  }
  const resolved: ResolvedCacheOptions = {
    prefix: name(options.prefix ?? 'strata', 'prefix'),
    namespace: name(options.namespace ?? 'default', 'namespace'),
    ttl,
    grace,
    redis,
    memory,
    commandTimeout: toMs(options.commandTimeout ?? '250ms', 'commandTimeout'),
    connectTimeout: toMs(options.connectTimeout ?? '2s', 'connectTimeout'),
    failureThreshold: positiveInt(options.failureThreshold ?? 3, 'failureThreshold', '3'),
    probeInterval: toMs(options.probeInterval ?? '500ms', 'probeInterval'),
    compressThreshold,
    maxInflatedBytes: positiveInt(options.maxInflatedBytes ?? 64 * 1024 * 1024, 'maxInflatedBytes', '64 * 1024 * 1024'),
    maxValueBytes: positiveInt(options.maxValueBytes ?? 8 * 1024 * 1024, 'maxValueBytes', '8 * 1024 * 1024'),
    maxKeyLength: positiveInt(options.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH, 'maxKeyLength', '200'),
    hashKeys: bool(options.hashKeys ?? false, 'hashKeys'),
    strict: bool(options.strict ?? false, 'strict'),
    caches: new Map(),
    tenancy: resolveTenancy(options.tenancy, memory),
    logger: options.logger,
  };
  const base: ResolvedNamedCache = {
    name: DEFAULT_CACHE_NAME,
    ttl,
    grace,
    useMemory: memory !== false,
    useRedis: redis !== undefined,
    compressThreshold,
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
      throw new InvalidOptionError(`${at}.tiers names 'redis' but no redis connection is configured; add the module's 'redis' option`);
    }
  }
  return {
    name: cacheName,
    ttl: named.ttl === undefined ? base.ttl : toMs(named.ttl, `${at}.ttl`),
    grace: named.grace === undefined ? base.grace : toMs(named.grace, `${at}.grace`, { allowZero: true }),
    useMemory,
    useRedis,
    compressThreshold: threshold(named.compressThreshold, `${at}.compressThreshold`, base.compressThreshold),
  };
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
  return redis;
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
