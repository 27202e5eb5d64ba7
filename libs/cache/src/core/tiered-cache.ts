import type { LoggerService } from '@nestjs/common';
import type { EntryCodec } from '../codec/entry.codec';
import type { L1Coherence } from '../invalidation/coherence';
import { dependencyId, dependentTags } from '../invalidation/dependencies';
import type { InvalidationTimes } from '../invalidation/invalidation-times';
import { PatternInvalidation } from '../invalidation/patterns';
import type { ScheduledTarget } from '../invalidation/schedule';
import type { CacheCounters } from '../observability/stats';
import type { L2Facade } from '../tiers/l2.facade';
import type { MemoryTier } from '../tiers/memory.tier';
import type { SerializedValue, TierWrite } from '../tiers/tier';
import type { CacheEntry } from './entry';
import { L2UnavailableError, NotSerializableError, StrataError } from './errors';
import { SingleFlight } from './single-flight';
import { PredictiveWarmer, type PredictiveWarmingSettings } from '../warming/predictive-warmer';

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
  /** Refresh-ahead: a `getOrSet` hit in this last fraction of the TTL refreshes in the background (0: off). */
  readonly refreshAhead: number;
}

/** One write, with everything resolved: milliseconds and tag ids. */
export interface WriteSpec {
  readonly ttl: number;
  readonly grace: number;
  readonly tagIds: readonly string[];
  /** Full keys this entry depends on (cascade: deleting or overwriting one invalidates the entry). */
  readonly dependsOn?: readonly string[];
}

export type Factory<T> = () => Promise<T> | T;

export interface TieredCacheParts {
  l1: MemoryTier | undefined;
  l2: L2Facade | undefined;
  times: InvalidationTimes;
  coherence: L1Coherence;
  counters: CacheCounters;
  logger: LoggerService;
  maxValueBytes: number;
  strict: boolean;
  now: () => number;
  /** Predictive warming; absent: off. */
  predictive?: PredictiveWarmingSettings;
  /** SCAN COUNT of pattern invalidation, and its pause between batches. */
  scanCount: number;
  scanPause: number;
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
  private readonly coherence: L1Coherence;
  private readonly counters: CacheCounters;
  private readonly now: () => number;
  private readonly warned = new Set<string>();
  readonly warmer: PredictiveWarmer | undefined;
  private readonly patterns: PatternInvalidation | undefined;

  constructor(private readonly parts: TieredCacheParts) {
    this.l1 = parts.l1;
    this.l2 = parts.l2;
    this.times = parts.times;
    this.coherence = parts.coherence;
    this.counters = parts.counters;
    this.now = parts.now;
    if (parts.l2) {
      const options = { count: parts.scanCount, pause: parts.scanPause };
      // A walk finished later (after Redis came back) is announced again: L1s may have refilled meanwhile.
      this.patterns = new PatternInvalidation(parts.l2, options, parts.logger, async (pattern) => void (await this.dropEverywhere(pattern)));
    }
    if (parts.predictive) {
      this.warmer = new PredictiveWarmer(parts.predictive, parts.now, (key, tracked) => {
        if (this.refreshes.has(key)) return false;
        this.counters.predictiveRefreshes += 1;
        this.refreshEarly(key, tracked.factory, tracked.policy, tracked.spec, tracked.createdAt);
        return true;
      });
    }
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
    const mark = this.coherence.mark();
    const entries = await this.l2.getMany(missing.map((i) => keys[i]));
    const ids = new Set<string>();
    for (const entry of entries) if (entry) for (const id of this.times.idsOf(entry, policy.namespaceId)) ids.add(id);
    const verified = await this.times.load([...ids]);
    entries.forEach((entry, j) => {
      const i = missing[j];
      if (verified && entry !== undefined && entry.expiresAt > now && this.times.isCurrent(entry, policy.namespaceId)) {
        this.counters.l2Hits += 1;
        this.counters.hits += 1;
        this.promote(keys[i], entry, policy, mark);
        results[i] = entry.value as T;
      } else {
        this.counters.l2Misses += 1;
        this.counters.misses += 1;
      }
    });
    return results;
  }

  /**
   * Stores a value the caller computed, then tells the other instances to drop their copy, and
   * invalidates whatever depends on the key (cascade).
   */
  async set(key: string, value: unknown, policy: CachePolicy, spec: WriteSpec): Promise<boolean> {
    const resolved = await this.withDependencies(spec, policy);
    const createdAt = this.now();
    const stored = await this.write(key, value, policy, resolved, createdAt);
    if (!stored) {
      // A value we cannot store must not leave an older one behind under its key.
      await this.delete([key], policy);
      return false;
    }
    await this.changed([key], createdAt);
    return true;
  }

  async setMany(items: ReadonlyArray<{ key: string; value: unknown; spec: WriteSpec }>, policy: CachePolicy): Promise<void> {
    const writes: TierWrite[] = [];
    const rejected: string[] = [];
    const createdAt = this.now();
    for (const item of items) {
      const write = this.prepare(item.key, item.value, policy, await this.withDependencies(item.spec, policy), createdAt);
      if (write) writes.push(write);
      else rejected.push(item.key);
    }
    if (rejected.length > 0) await this.delete(rejected, policy);
    const mark = this.coherence.mark();
    if (policy.useL2 && this.l2) await this.l2.setMany(writes);
    if (policy.useL1 && this.l1) for (const write of writes) if (this.coherence.mayStore(write.key, mark)) this.l1.store(write);
    await this.changed(writes.map((write) => write.key), createdAt);
  }

  delete(keys: readonly string[], policy: CachePolicy): Promise<void> {
    return this.remove(keys, policy.useL2);
  }

  /** Deletes full keys from Redis (when `fromL2`) and L1, then cascades and announces it. */
  async remove(keys: readonly string[], fromL2 = true): Promise<void> {
    if (fromL2 && this.l2) await this.l2.delete(keys);
    if (this.l1) for (const key of keys) this.l1.remove(key);
    this.warmer?.forget(keys);
    await this.changed(keys);
  }

  /**
   * After keys changed in Redis: their dependents are invalidated (only keys something depends on cost
   * a record), and the other instances are told to drop their L1 copies and apply those times.
   */
  private async changed(keys: readonly string[], writtenAt?: number): Promise<void> {
    if (keys.length === 0) return;
    // Both in one round trip (auto-pipelining): most keys have no dependents, so no second message.
    // Memory-only caches announce too: the other instances hold their own copies under the same keys.
    const [times] = await Promise.all([
      this.times.invalidateTracked(keys.map(dependencyId), this.now()),
      this.coherence.announce({ k: [...keys], c: writtenAt }),
    ]);
    if (times.length > 0) await this.coherence.announce({ t: times });
  }

  /**
   * The value under `key`, or the factory's result, stored on the way out. Concurrent callers of a
   * missing key share one factory run. A stale entry within grace is served at once and refreshed in
   * the background; if that refresh fails, the stale entry keeps being served until its grace ends.
   */
  getOrSet<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<T> {
    const now = this.now();
    const hit = this.peekL1(key, policy, now);
    if (hit !== undefined) {
      if (hit.expiresAt - now < spec.ttl * policy.refreshAhead) this.refreshAhead(key, factory, policy, spec, hit);
      if (this.warmer !== undefined) this.warmer.read(key);
      return Promise.resolve(hit.value as T);
    }
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

  /** Invalidates tags or namespaces (O(1) each) at `at` (default now), here and on every instance. */
  async invalidate(ids: readonly string[], at = this.now()): Promise<void> {
    await this.times.invalidate(ids, at);
    await this.coherence.announce({ t: ids.map((id) => [id, at]) });
  }

  /**
   * Removes the keys matching a SCAN pattern (built by `KeySpace.pattern`) from Redis, in batches, and
   * from every instance's L1. Returns how many entries were removed from Redis (from this instance's L1
   * for a memory-only cache).
   */
  async invalidatePattern(pattern: string, keep: (key: string) => boolean, policy: CachePolicy): Promise<number> {
    if (!policy.useL2 || this.patterns === undefined) return this.dropEverywhere(pattern);
    const { removed, complete } = await this.patterns.run(pattern, keep);
    await this.dropEverywhere(pattern);
    if (!complete) {
      // Left for later (see PatternInvalidation): the caller learns it with `strict`, the log says it anyway.
      this.counters.l2Errors += 1;
      if (this.parts.strict) throw new L2UnavailableError(`invalidatePattern stopped after ${removed} keys; it is retried in the background`);
    }
    return removed;
  }

  /** Drops a pattern's keys from this instance's L1 and tells the others to; returns how many were here. */
  private async dropEverywhere(pattern: string): Promise<number> {
    const dropped = this.coherence.dropMatching(pattern);
    await this.coherence.announce({ p: [pattern] });
    return dropped;
  }

  /** Stops background work (predictive warming, pattern walks waiting for Redis). */
  dispose(): void {
    this.warmer?.stop();
    this.patterns?.dispose();
  }

  /** Resolves once the background refreshes running now are done (shutdown drains them; tests wait on it). */
  async settled(): Promise<void> {
    while (this.refreshes.size > 0) await this.refreshes.settled();
  }

  /** A scheduled invalidation (`expireAt`) whose time has come. Tags are invalidated as of `when`. */
  async applyScheduled(target: ScheduledTarget, when: number): Promise<void> {
    if (target.keys !== undefined && target.keys.length > 0) await this.remove(target.keys);
    if (target.ids !== undefined && target.ids.length > 0) await this.invalidate(target.ids, when);
  }

  /**
   * Fills a key from its factory now, whether or not it is cached (warming with `force`), and tells
   * the other instances to drop their older copy.
   */
  async recompute<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<T> {
    const value = await this.flights.run(key, () => this.compute(key, factory, policy, spec));
    await this.changed([key]);
    return value;
  }

  private async load<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<T> {
    const now = this.now();
    let stale = this.l1 ? this.servableL1(key, policy, now) : undefined;
    if (policy.useL2) {
      const found = await this.readL2(key, policy);
      if (found !== undefined) {
        const at = this.now();
        if (found.expiresAt > at) {
          if (found.expiresAt - at < spec.ttl * policy.refreshAhead) this.refreshAhead(key, factory, policy, spec, found);
          this.warmer?.read(key);
          return found.value as T;
        }
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

  /**
   * Runs the factory and stores its result. The entry's `createdAt` is when the factory started, so an
   * invalidation that lands while it runs (it may have read the old data) covers the result too.
   */
  private async compute<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<T> {
    let value: T;
    const startedAt = this.now();
    // Dependencies are tracked before the factory reads them, so deleting one meanwhile is recorded.
    if (spec.dependsOn !== undefined && spec.dependsOn.length > 0) {
      await this.times.track(spec.dependsOn.map(dependencyId), spec.ttl + spec.grace);
    }
    this.counters.factoryRuns += 1;
    try {
      value = await factory();
    } catch (error) {
      this.counters.factoryErrors += 1;
      throw error;
    }
    const resolved = await this.withDependencies(spec, policy);
    if (!(await this.write(key, value, policy, resolved, startedAt))) await this.delete([key], policy);
    else this.warmer?.remember(key, factory, policy, spec, startedAt, this.now() + spec.ttl);
    return value;
  }

  private refreshInBackground<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): void {
    if (this.refreshes.has(key)) return;
    this.refreshes
      .run(key, () => this.compute(key, factory, policy, spec))
      .catch((error: unknown) => this.warnOnce(`refresh:${key}`, `background refresh of ${key} failed: ${String(error)}`));
  }

  private refreshAhead<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec, seen: CacheEntry): void {
    if (this.refreshes.has(key)) return;
    this.counters.refreshAhead += 1;
    this.refreshEarly(key, factory, policy, spec, seen.createdAt);
  }

  /**
   * A refresh before expiry (refresh-ahead, predictive warming), one per key in this process. Another
   * instance may have refreshed the key already: a newer entry in Redis that is not itself near its end
   * is taken (promoted to L1) instead of running the factory again.
   */
  private refreshEarly<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec, seenCreatedAt: number): void {
    this.refreshes
      .run(key, async () => {
        if (policy.useL2) {
          const found = await this.readL2(key, policy);
          const now = this.now();
          if (found !== undefined && found.createdAt > seenCreatedAt && found.expiresAt - now >= spec.ttl * policy.refreshAhead) {
            this.warmer?.remember(key, factory, policy, spec, found.createdAt, found.expiresAt);
            return;
          }
        }
        await this.compute(key, factory, policy, spec);
      })
      .catch((error: unknown) => this.warnOnce(`refresh:${key}`, `background refresh of ${key} failed: ${String(error)}`));
  }

  /** Writes L2 then L1; L1 is skipped when another instance dropped keys meanwhile. False: not storable. */
  private async write(key: string, value: unknown, policy: CachePolicy, spec: WriteSpec, createdAt: number): Promise<boolean> {
    const write = this.prepare(key, value, policy, spec, createdAt);
    if (write === undefined) return false;
    const mark = this.coherence.mark();
    if (policy.useL2 && this.l2) await this.l2.set(write);
    if (policy.useL1 && this.l1 && this.coherence.mayStore(key, mark)) this.l1.store(write);
    return true;
  }

  /** The spec with the tags a dependent entry needs (see `dependentTags`), its `dep:` ids tracked. */
  private async withDependencies(spec: WriteSpec, policy: CachePolicy): Promise<WriteSpec> {
    const keys = spec.dependsOn;
    if (keys === undefined || keys.length === 0) return spec;
    const entries = await Promise.all(keys.map((key) => this.peekAny(key, policy)));
    const tagIds = dependentTags(spec.tagIds, keys.map(dependencyId), entries);
    await this.times.track(tagIds.filter((id) => id.startsWith('dep:')), spec.ttl + spec.grace);
    return { ...spec, tagIds };
  }

  /** An entry as stored, current or not (its tags are what matters), without counting a hit or a miss. */
  private async peekAny(key: string, policy: CachePolicy): Promise<CacheEntry | undefined> {
    const local = policy.useL1 && this.coherence.trustL1 ? this.l1?.peek(key) : undefined;
    if (local !== undefined || !policy.useL2 || this.l2 === undefined) return local;
    return this.l2.get(key);
  }

  /** An L1 entry that is fresh and not invalidated; counts the L1 hit or miss. */
  private peekL1(key: string, policy: CachePolicy, now: number): CacheEntry | undefined {
    if (!policy.useL1 || this.l1 === undefined || !this.coherence.trustL1) return undefined;
    const entry = this.l1.peek(key);
    if (entry !== undefined && entry.expiresAt > now && this.times.isCurrent(entry, policy.namespaceId)) {
      this.counters.l1Hits += 1;
      this.counters.hits += 1;
      return entry;
    }
    this.counters.l1Misses += 1;
    return undefined;
  }

  private servableL1(key: string, policy: CachePolicy, now: number): CacheEntry | undefined {
    if (!policy.useL1 || this.l1 === undefined || !this.coherence.trustL1) return undefined;
    const entry = this.l1.peek(key);
    return entry !== undefined && entry.staleUntil > now && this.times.isCurrent(entry, policy.namespaceId) ? entry : undefined;
  }

  /** A servable (fresh or in grace) and current entry from L2, promoted to L1 when fresh. */
  private async readL2(key: string, policy: CachePolicy): Promise<CacheEntry | undefined> {
    if (this.l2 === undefined) return undefined;
    const mark = this.coherence.mark();
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
      this.promote(key, entry, policy, mark);
    } else {
      this.counters.l2Misses += 1;
    }
    return entry;
  }

  private promote(key: string, entry: CacheEntry, policy: CachePolicy, mark: number): void {
    // The key was dropped for another instance since the read began: what we read may be what it deleted.
    if (!policy.useL1 || this.l1 === undefined || !this.coherence.mayPromote(key, entry.createdAt, mark)) return;
    // Re-serializing gives L1 its own copy: the caller may change the object it was handed.
    const serialized = this.serialize(key, entry.value, policy);
    if (serialized !== undefined) this.l1.store({ key, entry, serialized });
  }

  private prepare(key: string, value: unknown, policy: CachePolicy, spec: WriteSpec, createdAt: number): TierWrite | undefined {
    const serialized = this.serialize(key, value, policy);
    if (serialized === undefined) return undefined;
    const expiresAt = this.now() + spec.ttl;
    const entry = { value, createdAt, expiresAt, staleUntil: expiresAt + spec.grace, tags: spec.tagIds };
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
