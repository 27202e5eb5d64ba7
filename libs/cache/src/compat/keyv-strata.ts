import { EventEmitter } from 'node:events';
import type { CacheService } from '../cache.service';
import { NO_EXPIRY } from './cache-manager.constants';
import { thaw } from './thaw';

export interface KeyvStrataOptions {
  /**
   * The Strata namespace the store's entries live in; each Keyv namespace gets its own below it
   * (`keyv:<namespace>`), so that `clear()` drops only that Keyv's entries, in O(1). Default `'keyv'`.
   */
  namespace?: string;
}

/**
 * Strata as a Keyv storage adapter: `new Keyv({ store: new KeyvStrata(cacheService) })`. Whatever sits
 * on Keyv (cache-manager, cacheable, the many libraries that take a Keyv) then reads and writes through
 * Strata's tiers, with its invalidation bus and circuit breaker. Keyv hands the adapter values it has
 * already serialized with their expiry inside, and checks that expiry itself on every read; the
 * adapter passes the ttl on so Strata drops the entry at the same time (no ttl: kept until evicted).
 *
 * No `iterator()`: Strata does not list keys (doing so over Redis means a SCAN of the keyspace), so
 * `keyv.iterator()` is not available on this store.
 */
export class KeyvStrata extends EventEmitter {
  /** Set by Keyv to its own namespace. */
  namespace?: string;
  readonly opts: { dialect: 'strata'; namespace: string };
  private readonly views = new Map<string, CacheService>();

  constructor(
    private readonly cache: CacheService,
    options: KeyvStrataOptions = {},
  ) {
    super();
    this.opts = { dialect: 'strata', namespace: options.namespace ?? 'keyv' };
  }

  async get<T>(key: string): Promise<T | undefined> {
    return thaw(await this.view().get<T>(key));
  }

  async getMany<T>(keys: string[]): Promise<Array<T | undefined>> {
    return (await this.view().getMany<T>(keys)).map((value) => thaw(value));
  }

  async has(key: string): Promise<boolean> {
    return (await this.view().get(key)) !== undefined;
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    return this.view().set(key, value, { ttl: lifetime(ttl) });
  }

  async setMany(items: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    await this.view().setMany(items.map(({ key, value, ttl }) => ({ key, value, ttl: lifetime(ttl) })));
  }

  /** Resolves true when the key held a value (Keyv reports it); one read before the delete tells. */
  async delete(key: string): Promise<boolean> {
    const view = this.view();
    const existed = (await view.get(key)) !== undefined;
    await view.delete(key);
    return existed;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    const view = this.view();
    const existed = (await view.getMany(keys)).some((value) => value !== undefined);
    await view.delete(keys);
    return existed;
  }

  /** Drops every entry of this Keyv namespace, in O(1) whatever their number. */
  async clear(): Promise<void> {
    await this.view().clear();
  }

  /** The Strata cache belongs to the Nest app, which closes it on shutdown: nothing to do here. */
  async disconnect(): Promise<void> {}

  private view(): CacheService {
    const name = this.namespace === undefined || this.namespace === '' ? this.opts.namespace : `${this.opts.namespace}:${this.namespace}`;
    let view = this.views.get(name);
    if (view === undefined) {
      view = this.cache.namespace(name);
      this.views.set(name, view);
    }
    return view;
  }
}

/** Keyv's ttl (ms; absent or not positive: no expiry) as a Strata ttl. */
function lifetime(ttl: number | undefined): number {
  return typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0 ? ttl : NO_EXPIRY;
}
