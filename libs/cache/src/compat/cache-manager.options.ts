import type { ConfigurableModuleAsyncOptions, Provider, Type } from '@nestjs/common';
import type { CacheModuleOptions as StrataOptions } from '../cache.options';
import { InvalidOptionError } from '../core/errors';
import { describe } from '../core/durations';
import type { CacheManagerDefaults } from './strata-cache-manager';
import { KeyvStrata } from './keyv-strata';
import { KeyvAdapters } from './keyv.adapters';

/**
 * cache-manager's options (`@nestjs/cache-manager`'s `CacheManagerOptions`), read by Strata:
 * - `ttl` (ms; absent or 0: no expiry) → the default ttl; `namespace` → Strata's namespace;
 * - `stores`: a memory store (Keyv's default `Map`, `KeyvCacheableMemory`) → Strata's L1 (its
 *   `lruSize` → `memory.maxEntries`); `@keyv/redis` (a URL) → Strata's Redis tier; any other Keyv
 *   store → Strata's L2 through `KeyvAdapters` (no L1 unless a memory store is listed before it);
 * - `refreshThreshold` (ms) → `wrap` refreshes in the background a hit with less time left;
 * - `nonBlocking`, `refreshAllStores`: accepted, no effect (Strata bounds every Redis call by
 *   `commandTimeout` and promotes what L2 finds into L1 itself);
 * - `strata`: Strata's own options, applied over the mapped ones (Sentinel, Cluster, tags, metrics…).
 */
export interface CacheManagerOptions {
  stores?: unknown;
  namespace?: string;
  ttl?: number;
  refreshThreshold?: number;
  nonBlocking?: boolean;
  refreshAllStores?: boolean;
  cacheId?: string;
  strata?: StrataOptions;
}

export type CacheOptions<StoreConfig extends object = object> = CacheManagerOptions & StoreConfig;

export type CacheModuleOptions<StoreConfig extends object = object> = CacheOptions<StoreConfig> & {
  /** Register the module globally: every module can inject `CACHE_MANAGER` without importing it. */
  isGlobal?: boolean;
};

/** A provider of the options, for `registerAsync({ useClass })` / `useExisting`. */
export interface CacheOptionsFactory<StoreConfig extends object = object> {
  createCacheOptions(): Promise<CacheOptions<StoreConfig>> | CacheOptions<StoreConfig>;
}

export interface CacheModuleAsyncOptions<StoreConfig extends object = object>
  extends ConfigurableModuleAsyncOptions<CacheOptions<StoreConfig>, keyof CacheOptionsFactory> {
  useExisting?: Type<CacheOptionsFactory<StoreConfig>>;
  useClass?: Type<CacheOptionsFactory<StoreConfig>>;
  /** Providers added to the module, for the factory or the class to inject. */
  extraProviders?: Provider[];
  isGlobal?: boolean;
}

const KNOWN = new Set(['stores', 'namespace', 'ttl', 'refreshThreshold', 'nonBlocking', 'refreshAllStores', 'cacheId', 'strata', 'isGlobal']);

/** Strata's options for cache-manager's, or an `InvalidOptionError` naming what cannot be mapped and what to do. */
export function toStrataOptions(options: CacheManagerOptions | undefined): StrataOptions {
  const given = options ?? {};
  for (const name of Object.keys(given)) {
    if (KNOWN.has(name)) continue;
    if (name === 'store') {
      throw mapping(`'store' is the cache-manager 5 option; cache-manager 7 (and Strata) take 'stores', e.g. stores: [new KeyvRedis(url)] (or strata: { redis: { url } })`);
    }
    throw mapping(`option '${name}' is not one cache-manager 7 reads, so it has no meaning here; remove it, or put a Strata option under strata: { … }`);
  }
  if (given.ttl !== undefined && !(typeof given.ttl === 'number' && Number.isFinite(given.ttl) && given.ttl >= 0)) {
    throw mapping(`ttl is milliseconds (0: no expiry), e.g. ttl: 60_000; got ${describe(given.ttl)}`);
  }
  if (given.refreshThreshold !== undefined && !(typeof given.refreshThreshold === 'number' && given.refreshThreshold > 0)) {
    throw mapping(`refreshThreshold is a positive number of milliseconds; got ${describe(given.refreshThreshold)}`);
  }
  const mapped: StrataOptions = {
    // cache-manager refreshes only through refreshThreshold, and never shortens a ttl.
    refreshAhead: false,
    ttlJitter: 0,
    ...storesOf(given.stores),
  };
  if (given.namespace !== undefined) mapped.namespace = given.namespace;
  return { ...mapped, ...given.strata };
}

/** The manager's own defaults (what `set` without a ttl uses, `wrap`'s refresh threshold, `cacheId()`). */
export function managerDefaults(options: CacheManagerOptions | undefined): CacheManagerDefaults {
  return {
    ttl: options?.ttl === 0 ? undefined : options?.ttl,
    refreshThreshold: options?.refreshThreshold,
    cacheId: options?.cacheId ?? Math.random().toString(36).slice(2),
  };
}

function storesOf(stores: unknown): Pick<StrataOptions, 'memory' | 'redis' | 'store'> {
  if (stores === undefined) return {};
  const list = Array.isArray(stores) ? (stores as unknown[]) : [stores];
  const mapped: Pick<StrataOptions, 'memory' | 'redis' | 'store'> = { memory: false };
  list.forEach((store, index) => {
    const adapter = adapterOf(store);
    const memory = memoryStore(adapter);
    if (memory !== undefined) {
      if (mapped.memory !== false || mapped.redis !== undefined || mapped.store !== undefined) {
        throw mapping(`stores[${index}] is a second memory store, or one after Redis; Strata has one L1 in front of Redis: list at most one memory store, first`);
      }
      mapped.memory = memory;
      return;
    }
    if (mapped.redis !== undefined || mapped.store !== undefined) {
      throw mapping(`stores[${index}] is a second shared store; Strata has one L2: list one (after at most one memory store)`);
    }
    const url = redisUrl(adapter);
    if (url !== undefined) {
      mapped.redis = { url };
      return;
    }
    if (!isKeyvStore(adapter)) {
      throw mapping(`stores[${index}] (${nameOf(adapter)}) is not a Keyv store: give a Keyv instance or a Keyv storage adapter (@keyv/postgres, @keyv/mongo, …), or configure Strata under strata: { … }`);
    }
    // Any other Keyv store is Strata's L2 through the store port; with no memory store listed there is
    // no L1 either, as in cache-manager (and no L1 to keep coherent without a bus).
    mapped.store = new KeyvAdapters(adapter as object);
  });
  // Only Redis listed: Strata still keeps an L1 in front of it, kept coherent by its invalidation bus.
  if (mapped.memory === false && mapped.redis !== undefined) delete mapped.memory;
  return mapped;
}

interface AdapterLike {
  readonly opts?: { readonly dialect?: unknown; readonly url?: unknown };
  readonly store?: { readonly lruSize?: unknown };
  readonly getStore?: unknown;
}

/** The storage adapter of a Keyv instance (Keyv's own `.store`), or the adapter itself. */
function adapterOf(store: unknown): unknown {
  if (typeof store !== 'object' || store === null) return store;
  const keyv = store as { hooks?: unknown; stats?: unknown; store?: unknown };
  if (keyv.hooks !== undefined && keyv.stats !== undefined && keyv.store !== undefined) return keyv.store;
  return store;
}

function memoryStore(adapter: unknown): { maxEntries?: number } | undefined {
  if (adapter instanceof Map) return {};
  if (typeof adapter !== 'object' || adapter === null) return undefined;
  const cacheable = adapter as AdapterLike;
  if (typeof cacheable.getStore === 'function' && cacheable.store !== undefined) {
    const size = cacheable.store.lruSize;
    return typeof size === 'number' && size > 0 ? { maxEntries: size } : {};
  }
  return undefined;
}

function redisUrl(adapter: unknown): string | undefined {
  if (typeof adapter !== 'object' || adapter === null || adapter instanceof KeyvStrata) return undefined;
  const opts = (adapter as AdapterLike).opts;
  if (opts?.dialect !== 'redis' || typeof opts.url !== 'string') return undefined;
  const client = (adapter as { client?: { options?: { url?: unknown } } }).client;
  // @keyv/redis reports localhost when it was given a Sentinel or Cluster (no URL): that is no URL to use.
  return typeof client?.options?.url === 'string' ? opts.url : undefined;
}

/** A Keyv storage adapter: get/set/delete/clear functions (a Keyv instance was unwrapped before). */
function isKeyvStore(adapter: unknown): boolean {
  if (typeof adapter !== 'object' || adapter === null || adapter instanceof KeyvStrata) return false;
  const store = adapter as Record<string, unknown>;
  return ['get', 'set', 'delete', 'clear'].every((name) => typeof store[name] === 'function');
}

function nameOf(adapter: unknown): string {
  if (typeof adapter !== 'object' || adapter === null) return describe(adapter);
  return (adapter as object).constructor?.name ?? 'an object';
}

function mapping(message: string): InvalidOptionError {
  return new InvalidOptionError(`CacheModule.register (cache-manager compat): ${message}`);
}
