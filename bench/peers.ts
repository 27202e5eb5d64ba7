/**
 * The libraries Strata is compared with, each built at its documented defaults and at its fastest
 * settings, behind one small interface so suites can interleave them. Every instance gets its own key
 * prefix in the shared bench Redis.
 */
import type { CacheModuleOptions } from '@strata/cache';
import Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { BenchContext } from './lib';

export interface Peer {
  name: string;
  get(key: string): Promise<unknown> | unknown;
  set(key: string, value: unknown): Promise<unknown>;
  /** The library's get-or-compute (single-flight where the library has it). */
  getOrSet(key: string, factory: () => Promise<unknown>): Promise<unknown>;
  close(): Promise<void>;
}

export type Layout = 'l1' | 'l2' | 'tiered';

interface BentoModule {
  BentoCache: new (config: unknown) => BentoLike;
  bentostore: () => BentoStoreBuilder;
}
interface BentoStoreBuilder {
  useL1Layer(driver: unknown): BentoStoreBuilder;
  useL2Layer(driver: unknown): BentoStoreBuilder;
}
interface BentoLike {
  get(options: { key: string }): Promise<unknown>;
  set(options: { key: string; value: unknown; ttl?: string }): Promise<unknown>;
  getOrSet(options: { key: string; factory: () => Promise<unknown>; ttl?: string }): Promise<unknown>;
  disconnect(): Promise<void>;
}

const TTL_MS = 10 * 60_000;
let sequence = 0;
const prefix = (lib: string) => `${lib}${++sequence}`;

export async function bentocache(ctx: BenchContext, layout: Layout, fastest: boolean): Promise<Peer> {
  const { BentoCache, bentostore } = await ctx.importEsm<BentoModule>('bentocache');
  const { memoryDriver } = await ctx.importEsm<{ memoryDriver: (o: unknown) => unknown }>('bentocache/drivers/memory');
  const { redisDriver } = await ctx.importEsm<{ redisDriver: (o: unknown) => unknown }>('bentocache/drivers/redis');
  let store = bentostore();
  // Fastest: L1 keeps objects instead of JSON strings (bentocache's `serialize: false`).
  if (layout !== 'l2') store = store.useL1Layer(memoryDriver(fastest ? { maxItems: 10_000, serialize: false } : { maxItems: 10_000 }));
  const connection = layout === 'l1' ? undefined : new Redis(ctx.redisUrl);
  if (connection) store = store.useL2Layer(redisDriver({ connection, prefix: prefix('bento') }));
  const bento = new BentoCache({ default: 'bench', stores: { bench: store } });
  return {
    name: `bentocache${fastest ? ' (serialize: false)' : ''}`,
    get: (key) => bento.get({ key }),
    set: (key, value) => bento.set({ key, value, ttl: '10m' }),
    getOrSet: (key, factory) => bento.getOrSet({ key, factory, ttl: '10m' }),
    close: async () => {
      await bento.disconnect();
      connection?.disconnect();
    },
  };
}

interface CacheableModule {
  Cacheable: new (options?: Record<string, unknown>) => {
    get(key: string): Promise<unknown>;
    set(key: string, value: unknown, ttl?: number): Promise<unknown>;
    getOrSet(key: string, fn: () => Promise<unknown>, options?: { ttl?: number }): Promise<unknown>;
    disconnect(): Promise<void>;
  };
  CacheableMemory: new (options?: Record<string, unknown>) => unknown;
}
interface KeyvRedisModule {
  createKeyv(url: string, options?: Record<string, unknown>): KeyvLike;
}
interface KeyvLike {
  disconnect(): Promise<void>;
}

/** An in-memory Keyv (a Map) that keeps objects as they are: no JSON on the way in or out. */
function plainKeyv(): KeyvLike {
  const { Keyv } = require('keyv') as { Keyv: new (options?: Record<string, unknown>) => KeyvLike & { serialize: unknown; deserialize: unknown } };
  const keyv = new Keyv();
  keyv.serialize = undefined;
  keyv.deserialize = undefined;
  return keyv;
}

export async function cacheable(ctx: BenchContext, layout: Layout, fastest: boolean): Promise<Peer> {
  const lib = require('cacheable') as CacheableModule;
  const { createKeyv } = require('@keyv/redis') as KeyvRedisModule;
  const redis = layout === 'l1' ? undefined : createKeyv(ctx.redisUrl, { namespace: prefix('cacheable') });
  // Defaults: its own in-memory primary (values cloned on read). Fastest: a Keyv Map without serialization.
  const options: Record<string, unknown> = {};
  if (layout === 'l2') options.primary = redis;
  else {
    if (fastest) options.primary = plainKeyv();
    if (redis) options.secondary = redis;
  }
  const cache = new lib.Cacheable(options);
  return {
    name: `cacheable${fastest ? ' (primary: Keyv Map, no serialization)' : ''}`,
    get: (key) => cache.get(key),
    set: (key, value) => cache.set(key, value, TTL_MS),
    getOrSet: (key, factory) => cache.getOrSet(key, factory, { ttl: TTL_MS }),
    close: async () => {
      await cache.disconnect().catch(() => undefined);
      await redis?.disconnect().catch(() => undefined);
    },
  };
}

interface CacheManagerModule {
  createCache(options?: { stores?: unknown[] }): {
    get(key: string): Promise<unknown>;
    set(key: string, value: unknown, ttl?: number): Promise<unknown>;
    wrap(key: string, fn: () => Promise<unknown>, ttl?: number): Promise<unknown>;
    disconnect(): Promise<unknown>;
  };
}

/**
 * cache-manager 7. Memory only, `createCache()` is both its default and its fastest (an in-memory Keyv
 * without serialization). With Redis, its README's memory store is `new Keyv({ store: new CacheableMemory(…) })`;
 * the fastest memory store is a Keyv Map without serialization.
 */
export async function cacheManager(ctx: BenchContext, layout: Layout, fastest: boolean): Promise<Peer> {
  const { createCache } = require('cache-manager') as CacheManagerModule;
  const { Keyv } = require('keyv') as { Keyv: new (options?: Record<string, unknown>) => KeyvLike };
  const { CacheableMemory } = require('cacheable') as CacheableModule;
  const { createKeyv } = require('@keyv/redis') as KeyvRedisModule;
  const redis = layout === 'l1' ? undefined : createKeyv(ctx.redisUrl, { namespace: prefix('cm') });
  let cache: ReturnType<CacheManagerModule['createCache']>;
  if (layout === 'l1') cache = createCache();
  else if (layout === 'l2') cache = createCache({ stores: [redis] });
  else cache = createCache({ stores: [fastest ? plainKeyv() : new Keyv({ store: new CacheableMemory({ ttl: TTL_MS, lruSize: 10_000 }) }), redis] });
  return {
    name: `cache-manager${layout === 'l1' ? ' (default = fastest)' : fastest ? ' (memory: Keyv Map, no serialization)' : ''}`,
    get: (key) => cache.get(key),
    set: (key, value) => cache.set(key, value, TTL_MS),
    getOrSet: (key, factory) => cache.wrap(key, factory, TTL_MS),
    close: async () => {
      await cache.disconnect().catch(() => undefined);
      await redis?.disconnect().catch(() => undefined);
    },
  };
}

export function rawLru(): Peer & { fetchWith(factory: () => Promise<unknown>): LRUCache<string, object> } {
  const lru = new LRUCache<string, object>({ max: 10_000, ttl: TTL_MS });
  return {
    name: 'await lru.get',
    get: (key) => lru.get(key),
    set: async (key, value) => lru.set(key, value as object),
    getOrSet: async (key, factory) => lru.get(key) ?? (lru.set(key, (await factory()) as object), lru.get(key)),
    close: async () => undefined,
    // lru-cache's own single-flight: fetch() with a fetchMethod shares one call per key.
    fetchWith: (factory) => new LRUCache<string, object>({ max: 10_000, ttl: TTL_MS, fetchMethod: async () => (await factory()) as object }),
  };
}

export function rawIoredis(ctx: BenchContext): Peer {
  const redis = new Redis(ctx.redisUrl);
  const p = prefix('raw');
  return {
    name: 'ioredis GET + JSON.parse',
    get: async (key) => {
      const text = await redis.get(`${p}:${key}`);
      return text === null ? undefined : JSON.parse(text);
    },
    set: (key, value) => redis.set(`${p}:${key}`, JSON.stringify(value), 'PX', TTL_MS),
    // No protection: every caller that misses runs the factory (what a hand-written cache does).
    getOrSet: async (key, factory) => {
      const text = await redis.get(`${p}:${key}`);
      if (text !== null) return JSON.parse(text);
      const value = await factory();
      await redis.set(`${p}:${key}`, JSON.stringify(value), 'PX', TTL_MS);
      return value;
    },
    close: async () => void redis.disconnect(),
  };
}

export async function strata(ctx: BenchContext, layout: Layout, variant?: { name: string; options: CacheModuleOptions }): Promise<Peer> {
  const options = layout === 'l1' ? {} : layout === 'l2' ? { redis: ctx.redisUrl, memory: false as const } : { redis: ctx.redisUrl };
  const s = await ctx.strata({ ...options, ...variant?.options, prefix: prefix('strata') });
  return {
    name: variant?.name ?? 'Strata',
    get: (key) => s.cache.get(key),
    set: (key, value) => s.cache.set(key, value),
    getOrSet: (key, factory) => s.cache.getOrSet(key, factory),
    close: () => s.close(),
  };
}
