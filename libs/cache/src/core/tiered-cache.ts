import type { LoggerService } from '@nestjs/common';
import type { EntryCodec } from '../codec/entry.codec';
import type { InvalidationTimes } from '../invalidation/invalidation-times';
import type { CacheCounters } from '../observability/stats';
import type { L2Facade } from '../tiers/l2.facade';
import type { MemoryTier } from '../tiers/memory.tier';
import type { SerializedValue, TierWrite } from '../tiers/tier';
import type { CacheEntry } from './entry';
import { NotSerializableError, StrataError } from './errors';
import { SingleFlight } from './single-flight';

/** What a view (a `CacheService`) tells the engine about its entries. */
export interface CachePolicy {
  readonly ttl: number;
  readonly grace: number;
  readonly useL1: boolean;
  readonly useL2: boolean;
  /** The view's namespace invalidation id (see `KeySpace.namespaceId`). */
  readonly namespaceId: string;
  /** The codec for this view's writes (named caches may compress differently). */
  readonly codec: EntryCodec;
}

/** One write, with everything resolved: milliseconds and tag ids. */
export interface WriteSpec {
  readonly ttl: number;
  readonly grace: number;
  readonly tagIds: readonly string[];
  /**
   * For `getOrSet`: called with the factory's result; returns the spec to store it with, or undefined
   * to hand the result back without storing it (`unless`, tags derived from the result).
   */
  readonly settle?: (value: unknown) => WriteSpec | undefined;
}

export type Factory<T> = () => Promise<T> | T;

export interface TieredCacheParts {
  l1: MemoryTier | undefined;
  l2: L2Facade | undefined;
  times: InvalidationTimes;
  counters: CacheCounters;
  logger: LoggerService;
  maxValueBytes: number;
  strict: boolean;
  now: () => number;
}

/**
 * The engine (DESIGN §4): L1 in process, L2 in Redis, single-flight, stale-while-revalidate and
 * fail-safe. It works on full keys; `CacheService` views build them and pass their policy.
 * It never throws because of a cache fault (unless `strict`): a fault degrades to a miss or the factory.
 */
export class TieredCache {
  private readonly flights = new SingleFlight();
  private readonly refreshes = new SingleFlight();
  private readonly l1: MemoryTier | undefined;
  private readonly l2: L2Facade | undefined;
  private readonly times: InvalidationTimes;
  private readonly counters: CacheCounters;
  private readonly now: () => number;
  private readonly warned = new Set<string>();

  constructor(private readonly parts: TieredCacheParts) {
    this.l1 = parts.l1;
    this.l2 = parts.l2;
    this.times = parts.times;
    this.counters = parts.counters;
    this.now = parts.now;
  }

  /** A fresh value, or undefined. An L1 hit skips the async machinery: it is the hottest path there is. */
  get<T>(key: string, policy: CachePolicy): Promise<T | undefined> {
    const hit = this.peekL1(key, policy, this.now());
    if (hit !== undefined) return Promise.resolve(hit.value as T);
    return this.getFromL2(key, policy);
  }

  private async getFromL2<T>(key: string, policy: CachePolicy): Promise<T | undefined> {
    const found = policy.useL2 ? await this.readL2(key, policy) : undefined;
    if (found !== undefined && found.expiresAt > this.now()) return found.value as T;
    this.counters.misses += 1;
    return undefined;
  }

  async getMany<T>(keys: readonly string[], policy: CachePolicy): Promise<(T | undefined)[]> {
    const now = this.now();
    const results = new Array<T | undefined>(keys.length);
    const missing: number[] = [];
    keys.forEach((key, i) => {
      const hit = this.peekL1(key, policy, now);
      if (hit !== undefined) results[i] = hit.value as T;
      else missing.push(i);
    });
    if (missing.length === 0) return results;
    if (!policy.useL2 || this.l2 === undefined) {
      this.counters.misses += missing.length;
      return results;
    }
    const entries = await this.l2.getMany(missing.map((i) => keys[i]));
    const ids = new Set<string>();
    for (const entry of entries) if (entry) for (const id of this.times.idsOf(entry, policy.namespaceId)) ids.add(id);
    const verified = await this.times.load([...ids]);
    entries.forEach((entry, j) => {
      const i = missing[j];
      if (verified && entry !== undefined && entry.expiresAt > now && this.times.isCurrent(entry, policy.namespaceId)) {
        this.counters.l2Hits += 1;
        this.counters.hits += 1;
        this.promote(keys[i], entry, policy);
        results[i] = entry.value as T;
      } else {
        this.counters.l2Misses += 1;
        this.counters.misses += 1;
      }
    });
    return results;
  }

  async set(key: string, value: unknown, policy: CachePolicy, spec: WriteSpec): Promise<boolean> {
    const write = this.prepare(key, value, policy, spec);
    if (write === undefined) {
      // A value we cannot store must not leave an older one behind under its key.
      await this.delete([key], policy);
      return false;
    }
    if (policy.useL2 && this.l2) await this.l2.set(write);
    if (policy.useL1 && this.l1) this.l1.store(write);
    return true;
  }

  async setMany(items: ReadonlyArray<{ key: string; value: unknown; spec: WriteSpec }>, policy: CachePolicy): Promise<void> {
    const writes: TierWrite[] = [];
    const rejected: string[] = [];
    for (const item of items) {
      const write = this.prepare(item.key, item.value, policy, item.spec);
      if (write) writes.push(write);
      else rejected.push(item.key);
    }
    if (rejected.length > 0) await this.delete(rejected, policy);
    if (policy.useL2 && this.l2) await this.l2.setMany(writes);
    if (policy.useL1 && this.l1) for (const write of writes) this.l1.store(write);
  }

  async delete(keys: readonly string[], policy: CachePolicy): Promise<void> {
    if (policy.useL2 && this.l2) await this.l2.delete(keys);
    if (this.l1) for (const key of keys) this.l1.remove(key);
  }

  /**
   * The value under `key`, or the factory's result, stored on the way out. Concurrent callers of a
   * missing key share one factory run. A stale entry within grace is served at once and refreshed in
   * the background; if that refresh fails, the stale entry keeps being served until its grace ends.
   */
  getOrSet<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<T> {
    const hit = this.peekL1(key, policy, this.now());
    if (hit !== undefined) return Promise.resolve(hit.value as T);
    return this.flights.run(key, () => this.load(key, factory, policy, spec));
  }

  async increment(key: string, by: number, ttl: number, policy: CachePolicy): Promise<number> {
    if (policy.useL2 && this.l2?.available) {
      const value = await this.l2.increment(key, by, ttl);
      if (value !== undefined) return value;
    } else if (policy.useL2 && this.parts.strict) {
      await this.l2?.increment(key, by, ttl); // throws the breaker's error
    }
    // Memory only, or Redis unreachable: count in this process, which is what a rate limiter can still do.
    if (this.l1 === undefined) throw new StrataError('E_L2_UNAVAILABLE', 'increment needs a tier: Redis is unreachable and memory is off');
    return this.l1.incrementSync(key, by, ttl, this.now());
  }

  invalidate(ids: readonly string[]): Promise<void> {
    return this.times.invalidate(ids, this.now());
  }

  private async load<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<T> {
    const now = this.now();
    let stale = this.l1 ? this.servableL1(key, policy, now) : undefined;
    if (policy.useL2) {
      const found = await this.readL2(key, policy);
      if (found !== undefined) {
        if (found.expiresAt > this.now()) return found.value as T;
        if (stale === undefined || found.createdAt > stale.createdAt) stale = found;
      }
    }
    if (stale !== undefined && stale.staleUntil > this.now()) {
      this.counters.staleHits += 1;
      this.counters.hits += 1;
      this.refreshInBackground(key, factory, policy, spec);
      return stale.value as T;
    }
    this.counters.misses += 1;
    return this.compute(key, factory, policy, spec);
  }

  private async compute<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<T> {
    let value: T;
    this.counters.factoryRuns += 1;
    try {
      value = await factory();
    } catch (error) {
      this.counters.factoryErrors += 1;
      throw error;
    }
    const write = spec.settle === undefined ? spec : spec.settle(value);
    if (write !== undefined) await this.set(key, value, policy, write);
    return value;
  }

  private refreshInBackground<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): void {
    if (this.refreshes.has(key)) return;
    this.refreshes
      .run(key, () => this.compute(key, factory, policy, spec))
      .catch((error: unknown) => this.warnOnce(`refresh:${key}`, `background refresh of ${key} failed: ${String(error)}`));
  }

  /**
   * A fresh value from L1, synchronously, or undefined. Only a hit is counted: after a miss the caller
   * goes on with `get`, which counts it.
   */
  peek<T>(key: string, policy: CachePolicy): T | undefined {
    const entry = this.freshL1(key, policy, this.now());
    if (entry === undefined) return undefined;
    this.counters.l1Hits += 1;
    this.counters.hits += 1;
    return entry.value as T;
  }

  /** An L1 entry that is fresh and not invalidated; counts the L1 hit or miss. */
  private peekL1(key: string, policy: CachePolicy, now: number): CacheEntry | undefined {
    const entry = this.freshL1(key, policy, now);
    if (entry !== undefined) {
      this.counters.l1Hits += 1;
      this.counters.hits += 1;
      return entry;
    }
    if (policy.useL1 && this.l1 !== undefined) this.counters.l1Misses += 1;
    return undefined;
  }

  private freshL1(key: string, policy: CachePolicy, now: number): CacheEntry | undefined {
    if (!policy.useL1 || this.l1 === undefined) return undefined;
    const entry = this.l1.peek(key);
    return entry !== undefined && entry.expiresAt > now && this.times.isCurrent(entry, policy.namespaceId) ? entry : undefined;
  }

  private servableL1(key: string, policy: CachePolicy, now: number): CacheEntry | undefined {
    if (!policy.useL1 || this.l1 === undefined) return undefined;
    const entry = this.l1.peek(key);
    return entry !== undefined && entry.staleUntil > now && this.times.isCurrent(entry, policy.namespaceId) ? entry : undefined;
  }

  /** A servable (fresh or in grace) and current entry from L2, promoted to L1 when fresh. */
  private async readL2(key: string, policy: CachePolicy): Promise<CacheEntry | undefined> {
    if (this.l2 === undefined) return undefined;
    const entry = await this.l2.get(key);
    const now = this.now();
    if (entry === undefined || entry.staleUntil <= now) {
      this.counters.l2Misses += 1;
      return undefined;
    }
    const verified = await this.times.load(this.times.idsOf(entry, policy.namespaceId));
    if (!verified || !this.times.isCurrent(entry, policy.namespaceId)) {
      this.counters.l2Misses += 1;
      return undefined;
    }
    if (entry.expiresAt > now) {
      this.counters.l2Hits += 1;
      this.counters.hits += 1;
      this.promote(key, entry, policy);
    } else {
      this.counters.l2Misses += 1;
    }
    return entry;
  }

  private promote(key: string, entry: CacheEntry, policy: CachePolicy): void {
    if (!policy.useL1 || this.l1 === undefined) return;
    // Re-serializing gives L1 its own copy: the caller may change the object it was handed.
    const serialized = this.serialize(key, entry.value, policy);
    if (serialized !== undefined) this.l1.store({ key, entry, serialized });
  }

  private prepare(key: string, value: unknown, policy: CachePolicy, spec: WriteSpec): TierWrite | undefined {
    const serialized = this.serialize(key, value, policy);
    if (serialized === undefined) return undefined;
    const now = this.now();
    const expiresAt = now + spec.ttl;
    const entry = { value, createdAt: now, expiresAt, staleUntil: expiresAt + spec.grace, tags: spec.tagIds };
    return { key, serialized, entry, codec: policy.codec };
  }

  private serialize(key: string, value: unknown, policy: CachePolicy): SerializedValue | undefined {
    let serialized: SerializedValue;
    try {
      serialized = policy.codec.serializeValue(value);
    } catch (error) {
      if (!(error instanceof NotSerializableError)) throw error;
      this.counters.notCacheable += 1;
      if (this.parts.strict) throw error;
      this.warnOnce(`serialize:${policy.namespaceId}`, `a value for ${key} was not cached: ${error.message}`);
      return undefined;
    }
    // UTF-16 length is within a factor of 3 of the UTF-8 size; close enough for a safety bound.
    if (serialized.text.length > this.parts.maxValueBytes) {
      this.counters.tooLarge += 1;
      this.warnOnce(`size:${policy.namespaceId}`, `a value for ${key} was not cached: larger than maxValueBytes (${this.parts.maxValueBytes})`);
      return undefined;
    }
    return serialized;
  }

  /** Logs a condition the first time it happens, not on every call. */
  private warnOnce(condition: string, message: string): void {
    if (this.warned.has(condition)) return;
    if (this.warned.size > 1000) this.warned.clear();
    this.warned.add(condition);
    this.parts.logger.warn(message);
  }
}
