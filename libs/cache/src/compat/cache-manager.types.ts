import type { EventEmitter } from 'node:events';

/** `wrap`'s options, as in cache-manager 7: milliseconds, or functions of the value. */
export interface WrapOptions<T> {
  ttl?: number | ((value: T) => number);
  refreshThreshold?: number | ((value: T) => number);
}

export interface WrapOptionsRaw<T> extends WrapOptions<T> {
  raw: true;
}

/** What `wrap(..., { raw: true })` resolves with: the value and its expiry (epoch ms), as Keyv reports it. */
export interface StoredDataRaw<T> {
  value?: T;
  expires?: number | null;
}

/** One item of `mset`. */
export interface CacheManagerItem<T> {
  key: string;
  value: T;
  ttl?: number;
}

/** The events of cache-manager 7 (`cache.on('set', ({ key, value, error }) => …)`). */
export interface CacheManagerEvents {
  get: <T>(data: { key: string; value?: T; error?: unknown }) => void;
  mget: <T>(data: { keys: string[]; values?: T[]; error?: unknown }) => void;
  set: <T>(data: { key: string; value: T; error?: unknown }) => void;
  mset: <T>(data: { list: Array<CacheManagerItem<T>>; error?: unknown }) => void;
  del: (data: { key: string; error?: unknown }) => void;
  mdel: (data: { keys: string[]; error?: unknown }) => void;
  clear: (error?: unknown) => void;
  refresh: <T>(data: { key: string; value: T; error?: unknown }) => void;
  ttl: (data: { key: string; value?: number; error?: unknown }) => void;
}

/** What `cache.stores` holds: Keyv instances (here, one Keyv over this Strata view). */
export interface KeyvLike {
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T, ttl?: number): Promise<boolean>;
  delete(key: string | string[]): Promise<boolean>;
  clear(): Promise<void>;
  has(key: string): Promise<boolean>;
  disconnect(): Promise<void>;
}

/**
 * The cache-manager 7 `Cache`, also usable as an injection token (`constructor(private cache: Cache)`),
 * like `@nestjs/cache-manager`'s. Times are milliseconds; a ttl of 0 means no expiry.
 */
export abstract class Cache {}

export interface Cache {
  /** The value, or undefined; a copy the caller may change. */
  get<T>(key: string): Promise<T | undefined>;
  mget<T>(keys: string[]): Promise<Array<T | undefined>>;
  /** When the key expires (epoch milliseconds), or undefined when it is missing or never expires. */
  ttl(key: string): Promise<number | undefined>;
  /** Stores the value for `ttl` ms (default: the module's `ttl`; 0: no expiry); resolves with the value. */
  set<T>(key: string, value: T, ttl?: number): Promise<T>;
  mset<T>(list: Array<CacheManagerItem<T>>): Promise<Array<CacheManagerItem<T>>>;
  del(key: string): Promise<boolean>;
  mdel(keys: string[]): Promise<boolean>;
  clear(): Promise<boolean>;
  on<E extends keyof CacheManagerEvents>(event: E, listener: CacheManagerEvents[E]): EventEmitter;
  off<E extends keyof CacheManagerEvents>(event: E, listener: CacheManagerEvents[E]): EventEmitter;
  disconnect(): Promise<undefined>;
  cacheId(): string;
  readonly stores: KeyvLike[];
  wrap<T>(key: string, fnc: () => T | Promise<T>, ttl?: number | ((value: T) => number), refreshThreshold?: number | ((value: T) => number)): Promise<T>;
  wrap<T>(key: string, fnc: () => T | Promise<T>, options: WrapOptions<T>): Promise<T>;
  wrap<T>(key: string, fnc: () => T | Promise<T>, options: WrapOptionsRaw<T>): Promise<StoredDataRaw<T>>;
}
