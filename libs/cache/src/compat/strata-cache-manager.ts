import { EventEmitter } from 'node:events';
import type { CacheService, SetOptions } from '../cache.service';
import { InvalidOptionError, StrataError } from '../core/errors';
import { loadPeer } from '../core/optional-peer';
import { NO_EXPIRY } from './cache-manager.constants';
import type {
  Cache,
  CacheManagerEvents,
  CacheManagerItem,
  KeyvLike,
  StoredDataRaw,
  WrapOptions,
  WrapOptionsRaw,
} from './cache-manager.types';
import { KeyvStrata } from './keyv-strata';
import { thaw } from './thaw';

/** What the module resolved from cache-manager's options for the manager itself. */
export interface CacheManagerDefaults {
  /** Default ttl in ms; undefined or 0: no expiry. */
  readonly ttl: number | undefined;
  /** Default refresh threshold in ms (a `wrap` hit with less time left refreshes in the background). */
  readonly refreshThreshold: number | undefined;
  readonly cacheId: string;
}

type Ttl<T> = number | ((value: T) => number) | undefined;

/**
 * cache-manager 7's `Cache` over a Strata view: every call goes through Strata's tiers (L1, Redis),
 * invalidation bus and stampede protection, with cache-manager's semantics on top: ttl in ms, 0 = no
 * expiry, values handed back as copies the caller may change, `get` never rejects (a fault is a miss
 * and a `get` event with the error).
 */
export class StrataCacheManager implements Cache {
  private readonly events = new EventEmitter();
  private keyv: KeyvLike | undefined;

  constructor(
    /** The Strata view behind this manager: use it to move on to Strata's own API, call by call. */
    readonly strata: CacheService,
    private readonly defaults: CacheManagerDefaults,
  ) {
  }

  async get<T>(key: string): Promise<T | undefined> {
    try {
      const value = thaw(await this.strata.get<T>(key));
      this.emit('get', { key, value });
      return value;
    } catch (error) {
      this.emit('get', { key, error });
      return undefined;
    }
  }

  async mget<T>(keys: string[]): Promise<Array<T | undefined>> {
    try {
      const values = (await this.strata.getMany<T>(keys)).map((value) => thaw(value));
      this.emit('mget', { keys, values });
      return values;
    } catch (error) {
      this.emit('mget', { keys, error });
      return keys.map(() => undefined);
    }
  }

  async ttl(key: string): Promise<number | undefined> {
    try {
      const entry = await this.strata.getEntry(key);
      const expires = entry === undefined || entry.expiresAt - entry.createdAt >= NO_EXPIRY / 2 ? undefined : entry.expiresAt;
      this.emit('ttl', { key, value: expires });
      return expires;
    } catch (error) {
      this.emit('ttl', { key, error });
      return undefined;
    }
  }

  async set<T>(key: string, value: T, ttl?: number): Promise<T> {
    try {
      const stored = await this.strata.set(key, value, { ttl: this.lifetimeOf(ttl) });
      this.emit('set', stored ? { key, value } : { key, value, error: notStored(key) });
      return value;
    } catch (error) {
      this.emit('set', { key, value, error });
      throw error;
    }
  }

  async mset<T>(list: Array<CacheManagerItem<T>>): Promise<Array<CacheManagerItem<T>>> {
    const resolved = list.map(({ key, value, ttl }) => ({ key, value, ttl: ttl ?? this.defaults.ttl }));
    try {
      await this.strata.setMany(resolved.map(({ key, value, ttl }) => ({ key, value, ttl: this.lifetimeOf(ttl) })));
      this.emit('mset', { list: resolved });
      return resolved;
    } catch (error) {
      this.emit('mset', { list: resolved, error });
      throw error;
    }
  }

  async del(key: string): Promise<boolean> {
    try {
      await this.strata.delete(key);
      this.emit('del', { key });
      return true;
    } catch (error) {
      this.emit('del', { key, error });
      throw error;
    }
  }

  async mdel(keys: string[]): Promise<boolean> {
    try {
      await this.strata.delete(keys);
      this.emit('mdel', { keys });
      return true;
    } catch (error) {
      this.emit('mdel', { keys, error });
      throw error;
    }
  }

  /** Drops every entry of this cache's namespace, on every instance, in O(1) whatever their number. */
  async clear(): Promise<boolean> {
    try {
      await this.strata.clear();
      this.emit('clear');
      return true;
    } catch (error) {
      this.emit('clear', error);
      throw error;
    }
  }

  wrap<T>(key: string, fnc: () => T | Promise<T>, ttl?: number | ((value: T) => number), refreshThreshold?: number | ((value: T) => number)): Promise<T>;
  wrap<T>(key: string, fnc: () => T | Promise<T>, options: WrapOptions<T>): Promise<T>;
  wrap<T>(key: string, fnc: () => T | Promise<T>, options: WrapOptionsRaw<T>): Promise<StoredDataRaw<T>>;
  async wrap<T>(
    key: string,
    fnc: () => T | Promise<T>,
    ttlOrOptions?: number | ((value: T) => number) | WrapOptions<T> | WrapOptionsRaw<T>,
    refreshThresholdArgument?: number | ((value: T) => number),
  ): Promise<T | StoredDataRaw<T>> {
    const options: WrapOptions<T> & { raw?: boolean } =
      typeof ttlOrOptions === 'object' && ttlOrOptions !== null ? ttlOrOptions : { ttl: ttlOrOptions, refreshThreshold: refreshThresholdArgument };
    const write = this.writeOptions(options.ttl);
    const threshold = options.refreshThreshold ?? this.defaults.refreshThreshold;
    if (threshold === undefined && options.raw !== true) {
      // The plain case is one `getOrSet`: one factory run per key across every instance.
      return thaw(await this.strata.getOrSet(key, () => fnc(), write));
    }
    const entry = await this.strata.getEntry<T>(key);
    if (entry === undefined) {
      const value = await this.strata.getOrSet(key, () => fnc(), write);
      const stored = await this.strata.getEntry<T>(key);
      return options.raw === true ? { value, expires: expiryOf(stored) } : value;
    }
    const value = thaw(entry.value);
    const limit = typeof threshold === 'function' ? threshold(value) : threshold;
    if (limit !== undefined && entry.expiresAt - Date.now() < limit) this.refresh(key, fnc, write);
    return options.raw === true ? { value, expires: expiryOf(entry) } : value;
  }

  on<E extends keyof CacheManagerEvents>(event: E, listener: CacheManagerEvents[E]): EventEmitter {
    return this.events.addListener(event, listener as (...args: unknown[]) => void);
  }

  off<E extends keyof CacheManagerEvents>(event: E, listener: CacheManagerEvents[E]): EventEmitter {
    return this.events.removeListener(event, listener as (...args: unknown[]) => void);
  }

  /** Nest owns Strata's connections and closes them on shutdown (`app.close()`): nothing to do here. */
  async disconnect(): Promise<undefined> {
    return undefined;
  }

  cacheId(): string {
    return this.defaults.cacheId;
  }

  /** One Keyv over this same Strata view (`KeyvStrata`), for code that reaches into `cache.stores[0]`. */
  get stores(): KeyvLike[] {
    if (this.keyv === undefined) {
      // Loaded on first use only: cache-manager users have keyv installed; others never pay for it.
      const { Keyv } = loadPeer<{ Keyv: new (options: { store: KeyvStrata }) => KeyvLike }>('keyv', 'cache.stores (the cache-manager compat layer)');
      this.keyv = new Keyv({ store: new KeyvStrata(this.strata) });
    }
    return [this.keyv];
  }

  private refresh<T>(key: string, fnc: () => T | Promise<T>, write: SetOptions<T>): void {
    void this.strata.warm([{ key, factory: () => fnc(), ttl: write.ttl as SetOptions['ttl'] }], { force: true }).then(
      (result) => {
        const failed = result.failed[0];
        if (failed !== undefined) this.emit('refresh', { key, value: undefined, error: failed.error });
        else void this.strata.get(key).then((value) => this.emit('refresh', { key, value: thaw(value) }));
      },
      (error: unknown) => this.emit('refresh', { key, value: undefined, error }),
    );
  }

  private writeOptions<T>(ttl: Ttl<T>): SetOptions<T> {
    if (typeof ttl === 'function') return { ttl: (value: T) => this.lifetimeOf(ttl(value)) };
    return { ttl: this.lifetimeOf(ttl) };
  }

  /** cache-manager's ttl (ms; absent: the default; 0: no expiry) as the Strata ttl it is stored with. */
  lifetimeOf(ttl: number | undefined): number {
    const ms = ttl ?? this.defaults.ttl;
    if (ms === undefined || ms === 0) return NO_EXPIRY;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new InvalidOptionError(`a cache-manager ttl is a number of milliseconds, 0 for no expiry (e.g. set(key, value, 60_000)); got ${String(ms)}`);
    }
    return ms;
  }

  private emit(event: keyof CacheManagerEvents, data?: unknown): void {
    if (this.events.listenerCount(event) !== 0) this.events.emit(event, data);
  }
}

function expiryOf(entry: { createdAt: number; expiresAt: number } | undefined): number | null {
  return entry === undefined || entry.expiresAt - entry.createdAt >= NO_EXPIRY / 2 ? null : entry.expiresAt;
}

function notStored(key: string): StrataError {
  return new StrataError(
    'E_NOT_SERIALIZABLE',
    `Strata cache: the value of ${JSON.stringify(key)} was not cached (it does not serialize, or is over maxValueBytes); store plain data, Date, Map, Set, Buffer or BigInt`,
  );
}
