import { COMPRESSION_CODECS, type CompressionCodec } from './codec/compression';
import { type Duration, describe, toMs } from './core/durations';
import { InvalidOptionError } from './core/errors';
import { name, threshold } from './core/option-checks';
import {
  type FactoryTimeoutOptions,
  type FailSafeOptions,
  type ResolvedFailSafe,
  type ResolvedTimeouts,
  resolveFailSafe,
  resolveJitter,
  resolveTimeouts,
} from './resilience/resilience.options';
import { type ColdCacheOptions, type ResolvedColdCache, checkColdTiers, resolveColdCache } from './postgres/postgres.options';

/** `postgres` is the cold tier (L3), under Redis: a cache that lists it lists 'redis' too. */
export type TierName = 'memory' | 'redis' | 'postgres';

export const DEFAULT_CACHE_NAME = 'default';

/** The policy of a named cache (`caches: { ai: {...} }`, injected with `@InjectCache('ai')`). */
export interface NamedCacheOptions extends ColdCacheOptions {
  /** How long an entry is fresh. Default: the module's `ttl`. */
  ttl?: Duration;
  /** How long after `ttl` a stale entry may still be served while it is refreshed. Default: the module's `grace`. */
  grace?: Duration;
  /**
   * Which tiers hold this cache's entries. Default: memory and Redis, as configured. 'postgres' (the
   * cold tier, needs the module's `postgres` and 'redis') is opt-in per cache: `['memory', 'redis', 'postgres']`.
   */
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

export interface ResolvedNamedCache extends ResolvedColdCache {
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

const KNOWN_NAMED = new Set<string>(
  Object.keys({ ttl: true, grace: true, tiers: true, l2Ttl: true, writeBehind: true, compressThreshold: true, compression: true, failSafe: true, timeouts: true, ttlJitter: true, version: true, refreshAhead: true } satisfies Record<keyof NamedCacheOptions, true>),
);

/** A named cache's policy: each option checked, what it leaves out taken from `base` (the module's default cache). */
export function resolveNamed(cacheName: string, named: NamedCacheOptions, base: ResolvedNamedCache, hasPostgres: boolean): ResolvedNamedCache {
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
  let usePostgres = false;
  if (named.tiers !== undefined) {
    if (!Array.isArray(named.tiers) || named.tiers.length === 0 || named.tiers.some((t) => t !== 'memory' && t !== 'redis' && t !== 'postgres')) {
      throw new InvalidOptionError(`${at}.tiers must list 'memory', 'redis' and/or 'postgres', e.g. ['memory', 'redis']; got ${describe(named.tiers)}`);
    }
    useMemory = named.tiers.includes('memory');
    useRedis = named.tiers.includes('redis');
    usePostgres = named.tiers.includes('postgres');
    checkColdTiers(at, { usePostgres, useRedis }, hasPostgres);
    if (useMemory && !base.useMemory) throw new InvalidOptionError(`${at}.tiers names 'memory' but the module has memory: false`);
    if (useRedis && !base.useRedis) {
      throw new InvalidOptionError(`${at}.tiers names 'redis' but no redis connection (or store) is configured; add the module's 'redis' option`);
    }
  }
  return {
    name: cacheName,
    ...resolveColdCache(at, named, usePostgres),
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

export function refreshFraction(value: number | false | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === false) return 0;
  if (typeof value !== 'number' || !(value > 0 && value < 1)) {
    throw new InvalidOptionError(`${option} must be a fraction of the TTL between 0 and 1 (e.g. 0.1 for the last 10%) or false; got ${describe(value)}`);
  }
  return value;
}

export function version(value: unknown, option: string): string | undefined {
  if (value === undefined) return undefined;
  if ((typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && value.length > 0)) return String(value);
  throw new InvalidOptionError(`${option} must be a non-empty string or a number, e.g. 2 or '2024-06'; got ${describe(value)}`);
}

export function codecName(value: unknown, at: string, fallback: CompressionCodec): CompressionCodec {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (COMPRESSION_CODECS as readonly string[]).includes(value)) return value as CompressionCodec;
  throw new InvalidOptionError(`${at} must be ${COMPRESSION_CODECS.map((c) => `'${c}'`).join(' or ')}, got ${describe(value)}`);
}
