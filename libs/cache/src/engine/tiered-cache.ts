import type { LoggerService } from '@nestjs/common';
import type { CacheEntry } from '../core/entry';
import { L2UnavailableError, StrataError } from '../core/errors';
import type { L1Coherence } from '../invalidation/coherence';
import type { InvalidationTimes } from '../invalidation/invalidation-times';
import { PatternInvalidation } from '../invalidation/patterns';
import type { ScheduledTarget } from '../invalidation/schedule';
import type { TagPurge } from '../invalidation/tag-purge';
import type { CacheTelemetry } from '../observability/telemetry';
import type { KeyScanner } from '../ports/key-scanner';
import type { DistributedLock } from '../resilience/distributed-lock';
import type { L2Facade } from '../tiers/l2.facade';
import { type MemoryTier, resolvedValue } from '../tiers/memory.tier';
import { PredictiveWarmer, type PredictiveWarmingSettings } from '../warming/predictive-warmer';
import { BackgroundRefresh } from './background-refresh';
import type { EngineContext } from './engine.context';
import { EngineMeter } from './engine.meter';
import type { CachePolicy, Factory, GetOrSetResult, WriteSpec } from './engine.types';
import { EntryReader } from './entry-reader';
import { EntrySerializer } from './entry-serializer';
import { EntryWriter } from './entry-writer';
import { FactoryRunner } from './factory-runner';
import { GetOrSetHandler } from './get-or-set.handler';

export interface TieredCacheParts {
  l1: MemoryTier | undefined;
  l2: L2Facade | undefined;
  times: InvalidationTimes;
  coherence: L1Coherence;
  telemetry: CacheTelemetry;
  logger: LoggerService;
  maxValueBytes: number;
  strict: boolean;
  now: () => number;
  /** The cluster-wide stampede lock; absent without a lock store or with `lock: false`. */
  lock?: DistributedLock;
  /** For TTL jitter; `Math.random` by default. */
  random?: () => number;
  /** Predictive warming; absent: off. */
  predictive?: PredictiveWarmingSettings;
  /** Walks pattern invalidation through the remote store; absent: patterns drop L1 copies only. */
  scanner?: KeyScanner;
  /** SCAN COUNT of pattern invalidation, and its pause between batches. */
  scanCount: number;
  scanPause: number;
  /** The hard purge of invalidated tags' keys (`invalidation.purge`); absent: off. */
  purge?: TagPurge;
}

/**
 * The engine (see docs/ARCHITECTURE.md): L1 in process, L2 in a remote store, single-flight,
 * stale-while-revalidate and fail-safe. It works on full keys; `CacheService` views build them and pass
 * their policy. It never throws because of a cache fault (unless `strict`): a fault degrades to a miss
 * or the factory. This facade wires the roles (reader, writer, factory runner, background refresh,
 * getOrSet handler) and answers the calls.
 */
export class TieredCache {
  readonly warmer: PredictiveWarmer | undefined;
  private readonly ctx: EngineContext;
  private readonly reader: EntryReader;
  private readonly writer: EntryWriter;
  private readonly refresh: BackgroundRefresh;
  private readonly handler: GetOrSetHandler;
  private readonly patterns: PatternInvalidation | undefined;
  private readonly purge: TagPurge | undefined;
  private readonly warned = new Set<string>();

  constructor(parts: TieredCacheParts) {
    const logger = parts.logger;
    this.ctx = {
      l1: parts.l1,
      l2: parts.l2,
      times: parts.times,
      coherence: parts.coherence,
      meter: new EngineMeter(parts.telemetry),
      lock: parts.lock,
      now: parts.now,
      strict: parts.strict,
      warnOnce: (condition, message) => this.warnOnce(logger, condition, message),
    };
    this.purge = parts.purge;
    if (parts.predictive) {
      this.warmer = new PredictiveWarmer(parts.predictive, parts.now, (key, tracked) => {
        if (this.refresh.has(key)) return false;
        tracked.policy.counters.predictiveRefreshes += 1;
        this.refresh.start(key, tracked.factory, tracked.policy, tracked.spec, tracked.createdAt);
        return true;
      });
    }
    const remember = (key: string, factory: Factory<unknown>, policy: CachePolicy, spec: WriteSpec, createdAt: number, expiresAt: number) =>
      this.warmer?.remember(key, factory, policy, spec, createdAt, expiresAt);
    const serializer = new EntrySerializer(this.ctx, parts.maxValueBytes);
    this.reader = new EntryReader(this.ctx, serializer);
    this.writer = new EntryWriter(this.ctx, serializer, this.reader, parts.purge, parts.random, (keys) => this.warmer?.forget(keys));
    const runner = new FactoryRunner(this.ctx, this.reader, this.writer, remember);
    this.refresh = new BackgroundRefresh(this.ctx, this.reader, runner, remember);
    this.handler = new GetOrSetHandler(this.ctx, this.reader, runner, this.refresh, this.warmer);
    if (parts.l2 && parts.scanner) {
      const options = { count: parts.scanCount, pause: parts.scanPause };
      // A walk finished later (after the store came back) is announced again: L1s may have refilled meanwhile.
      this.patterns = new PatternInvalidation(parts.l2, parts.scanner, options, logger, async (pattern) => void (await this.dropEverywhere(pattern)));
    }
  }

  /** A fresh value, or undefined. An L1 hit skips the async machinery: it is the hottest path there is. */
  get<T>(key: string, policy: CachePolicy): Promise<T | undefined> {
    const hit = this.reader.freshL1(key, policy, this.ctx.now());
    if (hit !== undefined) return resolvedValue(hit) as Promise<T | undefined>;
    return this.getFromL2(key, policy);
  }

  private getFromL2<T>(key: string, policy: CachePolicy): Promise<T | undefined> {
    if (!policy.useL2) return Promise.resolve(this.missed(key, policy));
    return this.reader.readL2(key, policy).then((found) => (found !== undefined && found.state === 'fresh' ? (found.entry.value as T) : this.missed(key, policy)));
  }

  private missed(key: string, policy: CachePolicy): undefined {
    this.ctx.meter.missed(policy, key);
    return undefined;
  }

  /** Like `get`, with the entry's times and tags (what `ttl()` of a cache-manager view reports). */
  async getEntry<T>(key: string, policy: CachePolicy): Promise<CacheEntry<T> | undefined> {
    const hit = this.reader.freshL1(key, policy, this.ctx.now());
    if (hit !== undefined) return hit as CacheEntry<T>;
    const found = policy.useL2 ? await this.reader.readL2(key, policy) : undefined;
    if (found !== undefined && found.state === 'fresh') return found.entry as CacheEntry<T>;
    this.ctx.meter.missed(policy, key);
    return undefined;
  }

  async getMany<T>(keys: readonly string[], policy: CachePolicy): Promise<(T | undefined)[]> {
    const now = this.ctx.now();
    // Filled, not sparse: callers iterate it with forEach/map, which skip holes.
    const results = new Array<T | undefined>(keys.length).fill(undefined);
    const missing: number[] = [];
    keys.forEach((key, i) => {
      const hit = this.reader.freshL1(key, policy, now);
      if (hit !== undefined) results[i] = hit.value as T;
      else missing.push(i);
    });
    if (missing.length === 0) return results;
    const l2 = this.ctx.l2;
    if (!policy.useL2 || l2 === undefined) {
      for (const i of missing) this.ctx.meter.missed(policy, keys[i]);
      return results;
    }
    const entries = await this.reader.readManyL2(l2, missing.map((i) => keys[i]), policy, now);
    entries.forEach((entry, j) => entry !== undefined && (results[missing[j]] = entry.value as T));
    return results;
  }

  /** A fresh value from L1, synchronously, or undefined (only a hit is counted). */
  peek<T>(key: string, policy: CachePolicy): T | undefined {
    return this.reader.peek(key, policy)?.value as T | undefined;
  }

  /** Stores a value the caller computed, tells the other instances, invalidates what depends on the key. */
  set(key: string, value: unknown, policy: CachePolicy, spec: WriteSpec): Promise<boolean> {
    return this.writer.set(key, value, policy, spec);
  }

  setMany(items: ReadonlyArray<{ key: string; value: unknown; spec: WriteSpec }>, policy: CachePolicy): Promise<void> {
    return this.writer.setMany(items, policy);
  }

  delete(keys: readonly string[], policy: CachePolicy): Promise<void> {
    return this.writer.remove(keys, policy.useL2, policy);
  }

  /** Deletes full keys from L2 (when `fromL2`) and L1, then cascades and announces it. */
  remove(keys: readonly string[], fromL2 = true, policy?: CachePolicy): Promise<void> {
    return this.writer.remove(keys, fromL2, policy);
  }

  /** The value under `key`, or the factory's result (see `GetOrSetHandler`). */
  getOrSet<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<T> {
    return this.handler.handle(key, factory, policy, spec);
  }

  /** `getOrSet`, telling how it answered: `{ value, status, tier, age }` (see `GetOrSetResult`). */
  getOrSetWithStatus<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<GetOrSetResult<T>> {
    return this.handler.handleWithStatus(key, factory, policy, spec);
  }

  /** Fills a key from its factory now, cached or not (warming with `force`), and tells the other instances. */
  async recompute<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<T> {
    const value = await this.handler.recompute(key, factory, policy, spec);
    await this.writer.changed([key], undefined, policy);
    return value;
  }

  async increment(key: string, by: number, ttl: number, policy: CachePolicy): Promise<number> {
    const { l1, l2, strict } = this.ctx;
    if (policy.useL2 && l2?.available) {
      const value = await l2.increment(key, by, ttl);
      if (value !== undefined) return value;
    } else if (policy.useL2 && strict) {
      await l2?.increment(key, by, ttl); // throws the breaker's error
    }
    // Memory only, or the store unreachable: count in this process, which is what a rate limiter can still do.
    if (l1 === undefined) throw new StrataError('E_L2_UNAVAILABLE', 'increment needs a tier: Redis is unreachable and memory is off');
    return l1.incrementSync(key, by, ttl, this.ctx.now());
  }

  /** Invalidates tags or namespaces (O(1) each) at `at` (default now), here and on every instance. */
  async invalidate(ids: readonly string[], policy?: CachePolicy, at = this.writer.invalidationTime()): Promise<void> {
    const { times, meter, coherence } = this.ctx;
    const change = { t: ids.map((id): [string, number] => [id, at]) };
    // Where the store runs calls in order, the announcement goes right behind the times' write (one round trip).
    let announced: Promise<void> | undefined;
    const sent = () => void (announced = coherence.announce(change)).catch(() => undefined);
    if (policy === undefined) await times.invalidate(ids, at, sent);
    else {
      await meter.timed(policy, 'strata.l2.invalidate', 'l2Invalidate', () => times.invalidate(ids, at, sent));
      meter.invalidated(policy, ids);
    }
    // The purge (when on) moves the tags' key indexes aside once the times are written.
    await Promise.all([announced ?? coherence.announce(change), this.writer.purgeAfter(ids, policy)]);
  }

  /**
   * Removes the keys matching a pattern (built by `KeySpace.pattern`) from L2, in batches, and from
   * every instance's L1. Returns how many entries were removed from L2 (from this L1 when memory only).
   */
  async invalidatePattern(pattern: string, keep: (key: string) => boolean, policy: CachePolicy): Promise<number> {
    if (!policy.useL2 || this.patterns === undefined) return this.dropEverywhere(pattern);
    const { removed, complete } = await this.patterns.run(pattern, keep);
    await this.dropEverywhere(pattern);
    if (!complete) {
      // Left for later (see PatternInvalidation): the caller learns it with `strict`, the log says it anyway.
      this.ctx.meter.count(policy, 'l2Errors');
      if (this.ctx.strict) throw new L2UnavailableError(`invalidatePattern stopped after ${removed} keys; it is retried in the background`);
    }
    return removed;
  }

  /** A scheduled invalidation (`expireAt`) whose time has come. Tags are invalidated as of `when`. */
  async applyScheduled(target: ScheduledTarget, when: number): Promise<void> {
    if (target.keys !== undefined && target.keys.length > 0) await this.remove(target.keys);
    if (target.ids !== undefined && target.ids.length > 0) await this.invalidate(target.ids, undefined, when);
  }

  /** Stops background work (predictive warming, pattern walks waiting for the store, purges). */
  dispose(): void {
    this.warmer?.stop();
    this.patterns?.dispose();
    this.purge?.dispose();
  }

  /** Resolves once the background refreshes running now are done (shutdown drains them; tests wait on it). */
  settled(): Promise<void> {
    return this.refresh.settled();
  }

  /** Drops a pattern's keys from this instance's L1 and tells the others to; returns how many were here. */
  private async dropEverywhere(pattern: string): Promise<number> {
    const dropped = this.ctx.coherence.dropMatching(pattern);
    await this.ctx.coherence.announce({ p: [pattern] });
    return dropped;
  }

  private warnOnce(logger: LoggerService, condition: string, message: string): void {
    if (this.warned.has(condition)) return;
    if (this.warned.size > 1000) this.warned.clear();
    this.warned.add(condition);
    logger.warn(message);
  }
}
