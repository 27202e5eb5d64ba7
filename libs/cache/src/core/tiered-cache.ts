import type { LoggerService } from '@nestjs/common';
import type { EntryCodec } from '../codec/entry.codec';
import type { L1Coherence } from '../invalidation/coherence';
import { dependencyId, dependentTags } from '../invalidation/dependencies';
import type { InvalidationTimes } from '../invalidation/invalidation-times';
import { PatternInvalidation } from '../invalidation/patterns';
import type { ScheduledTarget } from '../invalidation/schedule';
import type { TagPurge } from '../invalidation/tag-purge';
import type { LatencyHistogram } from '../observability/latency';
import type { CacheCounters } from '../observability/stats';
import { type CacheTelemetry, NO_CACHE } from '../observability/telemetry';
import { type DistributedLock, LOCK_FAILED, type Lease } from '../resilience/distributed-lock';
import { RetryThrottle, raceTimeouts } from '../resilience/factory-guard';
import { type ResolvedFailSafe, type ResolvedTimeouts, jittered } from '../resilience/resilience.options';
import type { KeyScanner } from '../ports/key-scanner';
import type { L2Facade } from '../tiers/l2.facade';
import type { MemoryTier } from '../tiers/memory.tier';
import type { SerializedValue, TierWrite } from '../tiers/tier';
import { type CacheEntry, MAX_ENTRY_TAGS } from './entry';
import { PredictiveWarmer, type PredictiveWarmingSettings } from '../warming/predictive-warmer';
import { FactoryTimeoutError, L2UnavailableError, NotSerializableError, StrataError } from './errors';
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
  /** Serve a stale copy when the factory fails, for at most `window` past `staleUntil`. */
  readonly failSafe: ResolvedFailSafe | undefined;
  readonly timeouts: ResolvedTimeouts;
  /** Each ttl is shortened by a random fraction up to this. */
  readonly ttlJitter: number;
  /** Refresh-ahead: a `getOrSet` hit in this last fraction of its lifetime refreshes in the background (0: off). */
  readonly refreshAhead: number;
  /** The cache name (label of metrics, events and spans) and its counters. */
  readonly name: string;
  readonly counters: CacheCounters;
}

/** One write, with everything resolved: milliseconds and tag ids. */
export interface WriteSpec {
  /** Milliseconds, or a function of the value (adaptive TTL) that returns them. */
  readonly ttl: number | ((value: unknown) => number);
  readonly grace: number;
  readonly tagIds: readonly string[];
  /** This call's factory timeouts, instead of the policy's. */
  readonly timeouts?: ResolvedTimeouts;
  /** Full keys this entry depends on (cascade: deleting or overwriting one invalidates the entry). */
  readonly dependsOn?: readonly string[];
  /**
   * For `getOrSet`: called with the factory's result; returns the spec to store it with, or undefined
   * to hand the result back without storing it (`unless`, tags derived from the result).
   */
  readonly settle?: (value: unknown) => WriteSpec | undefined;
}

/** What a factory is handed: `signal` aborts when the caller gives up on it (its hard timeout). */
export interface FactoryContext {
  /**
   * Aborted (with the `FactoryTimeoutError` as its reason) when the hard timeout fires: pass it on to
   * `fetch`, an SDK or a query so the work stops. A factory that finishes anyway still fills the cache.
   */
  readonly signal: AbortSignal;
}

export type Factory<T> = (context: FactoryContext) => Promise<T> | T;

/** The signal of factories run without a hard timeout: nothing aborts them. */
const NEVER_ABORTED = new AbortController().signal;

/** How far ahead of the clock writes may be dated to follow this instance's own invalidations (see `writeTime`). */
const OWN_TIMES_AHEAD_MS = 50;

/** One L1 lookup in this many is timed: a hit takes well under a microsecond, so timing each would double it. */
export const L1_SAMPLE_EVERY = 64;

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
  /** The cluster-wide stampede lock; absent without Redis or with `lock: false`. */
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

/** How long dependency records are kept when the ttl is adaptive (only known once the value is). */
const ADAPTIVE_TTL_BOUND = 30 * 24 * 3600 * 1000;

/** An upper bound of an entry's lifetime, for records that must outlive it. */
function lifetimeBound(spec: WriteSpec): number {
  return (typeof spec.ttl === 'number' ? spec.ttl : ADAPTIVE_TTL_BOUND) + spec.grace;
}

/** True when a fresh entry is in the last `fraction` of its lifetime (refresh-ahead). */
function nearEnd(entry: CacheEntry, fraction: number, now: number): boolean {
  return fraction > 0 && entry.expiresAt - now < (entry.expiresAt - entry.createdAt) * fraction;
}

function usableUntil(entry: CacheEntry, policy: CachePolicy): number {
  return policy.failSafe === undefined ? entry.staleUntil : entry.staleUntil + policy.failSafe.window;
}

/**
 * The engine (see docs/ARCHITECTURE.md): L1 in process, L2 in a remote store (Redis), single-flight, stale-while-revalidate and
 * fail-safe. It works on full keys; `CacheService` views build them and pass their policy.
 * It never throws because of a cache fault (unless `strict`): a fault degrades to a miss or the factory.
 */
export class TieredCache {
  private readonly flights = new SingleFlight();
  private readonly refreshes = new SingleFlight();
  private readonly throttle = new RetryThrottle();
  private readonly lock: DistributedLock | undefined;
  private readonly l1: MemoryTier | undefined;
  private readonly l2: L2Facade | undefined;
  private readonly times: InvalidationTimes;
  private readonly coherence: L1Coherence;
  private readonly telemetry: CacheTelemetry;
  private readonly now: () => number;
  private readonly warned = new Set<string>();
  private untilSample = L1_SAMPLE_EVERY;
  /** The latest creation time `writeTime` gave a write ahead of the clock (see `invalidationTime`). */
  private datedAhead = 0;
  readonly warmer: PredictiveWarmer | undefined;
  private readonly patterns: PatternInvalidation | undefined;

  constructor(private readonly parts: TieredCacheParts) {
    this.l1 = parts.l1;
    this.l2 = parts.l2;
    this.times = parts.times;
    this.coherence = parts.coherence;
    this.telemetry = parts.telemetry;
    this.now = parts.now;
    this.lock = parts.lock;
    if (parts.l2 && parts.scanner) {
      const options = { count: parts.scanCount, pause: parts.scanPause };
      // A walk finished later (after Redis came back) is announced again: L1s may have refilled meanwhile.
      this.patterns = new PatternInvalidation(parts.l2, parts.scanner, options, parts.logger, async (pattern) => void (await this.dropEverywhere(pattern)));
    }
    if (parts.predictive) {
      this.warmer = new PredictiveWarmer(parts.predictive, parts.now, (key, tracked) => {
        if (this.refreshes.has(key)) return false;
        tracked.policy.counters.predictiveRefreshes += 1;
        this.refreshInBackground(key, tracked.factory, tracked.policy, tracked.spec, tracked.createdAt);
        return true;
      });
    }
  }

  /**
   * The creation time of a value written by `set`/`setMany` (given by the caller, current as of the
   * call). Times are milliseconds and an entry created at or before an invalidation is invalid, so a
   * value written in the same millisecond as an invalidation this instance has just made or applied
   * (`set(user)` overwriting a key with dependents, then `set(page, { dependsOn: [user] })`) would be a
   * miss: it is dated one past it. Only within a few ms of now, so a clock running ahead elsewhere
   * cannot date our writes into the future.
   */
  private writeTime(): number {
    const now = this.now();
    const latest = this.times.latest;
    if (latest < now) return now;
    // Our own invalidations (dated by `invalidationTime`, never past `datedAhead`) are followed a little
    // further: each write-then-invalidate within one millisecond moves them one ms ahead.
    const bound = latest <= this.datedAhead ? OWN_TIMES_AHEAD_MS : 3;
    if (latest - now >= bound) return now;
    if (latest + 1 > this.datedAhead) this.datedAhead = latest + 1;
    return latest + 1;
  }

  /**
   * Now, or the latest time `writeTime` dated a write ahead of the clock: a write made right after an
   * invalidation in the same millisecond is dated one past it, and an invalidation made after that
   * write, still within the millisecond, must cover it (`clear()`, write, `clear()` in one ms).
   */
  private invalidationTime(): number {
    return Math.max(this.now(), this.datedAhead);
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
    this.missed(key, policy);
    return undefined;
  }

  /** Like `get`, with the entry's times and tags (what `ttl()` of a cache-manager view reports). */
  async getEntry<T>(key: string, policy: CachePolicy): Promise<CacheEntry<T> | undefined> {
    const hit = this.peekL1(key, policy, this.now());
    if (hit !== undefined) return hit as CacheEntry<T>;
    const found = policy.useL2 ? await this.readL2(key, policy) : undefined;
    if (found !== undefined && found.expiresAt > this.now()) return found as CacheEntry<T>;
    this.missed(key, policy);
    return undefined;
  }

  async getMany<T>(keys: readonly string[], policy: CachePolicy): Promise<(T | undefined)[]> {
    const now = this.now();
    // Filled, not sparse: callers iterate it with forEach/map, which skip holes.
    const results = new Array<T | undefined>(keys.length).fill(undefined);
    const missing: number[] = [];
    keys.forEach((key, i) => {
      const hit = this.peekL1(key, policy, now);
      if (hit !== undefined) results[i] = hit.value as T;
      else missing.push(i);
    });
    if (missing.length === 0) return results;
    if (!policy.useL2 || this.l2 === undefined) {
      for (const i of missing) this.missed(keys[i], policy);
      return results;
    }
    const l2 = this.l2;
    const mark = this.coherence.mark();
    const entries = await this.timed(policy, 'strata.l2.mget', policy.counters.latency.l2Get, () => l2.getMany(missing.map((i) => keys[i])));
    const ids = new Set<string>();
    for (const entry of entries) if (entry) for (const id of this.times.idsOf(entry, policy.namespaceId)) ids.add(id);
    const verified = await this.times.load([...ids]);
    entries.forEach((entry, j) => {
      const i = missing[j];
      if (verified && entry !== undefined && entry.expiresAt > now && this.times.isCurrent(entry, policy.namespaceId)) {
        this.hitL2(keys[i], entry, policy, mark);
        results[i] = entry.value as T;
      } else {
        policy.counters.l2Misses += 1;
        this.missed(keys[i], policy);
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
    const createdAt = this.writeTime();
    const stored = await this.write(key, value, policy, resolved, createdAt, undefined);
    if (stored === undefined) {
      // A value we cannot store must not leave an older one behind under its key.
      await this.delete([key], policy);
      return false;
    }
    await this.changed([key], createdAt, policy);
    return true;
  }

  async setMany(items: ReadonlyArray<{ key: string; value: unknown; spec: WriteSpec }>, policy: CachePolicy): Promise<void> {
    const writes: TierWrite[] = [];
    const written: Array<{ key: string; spec: WriteSpec }> = [];
    const rejected: string[] = [];
    const createdAt = this.writeTime();
    for (const item of items) {
      const write = this.prepare(item.key, item.value, policy, await this.withDependencies(item.spec, policy), createdAt);
      if (write) {
        writes.push(write);
        written.push(item);
      } else rejected.push(item.key);
    }
    if (rejected.length > 0) await this.delete(rejected, policy);
    const mark = this.coherence.mark();
    const l2 = this.l2;
    if (policy.useL2 && l2) await this.timed(policy, 'strata.l2.mset', policy.counters.latency.l2Set, () => l2.setMany(writes));
    if (policy.useL1 && this.l1) for (const write of writes) if (this.coherence.mayStore(write.key, mark)) this.l1.store(write);
    for (const item of written) this.wrote(item.key, policy, item.spec);
    await this.changed(writes.map((write) => write.key), createdAt, policy);
  }

  delete(keys: readonly string[], policy: CachePolicy): Promise<void> {
    return this.remove(keys, policy.useL2, policy);
  }

  /** Deletes full keys from Redis (when `fromL2`) and L1, then cascades and announces it. */
  async remove(keys: readonly string[], fromL2 = true, policy?: CachePolicy): Promise<void> {
    const l2 = this.l2;
    if (fromL2 && l2) {
      if (policy === undefined) await l2.delete(keys);
      else await this.timed(policy, 'strata.l2.delete', policy.counters.latency.l2Delete, () => l2.delete(keys));
    }
    if (this.l1) for (const key of keys) this.l1.remove(key);
    this.warmer?.forget(keys);
    if (policy !== undefined) {
      policy.counters.deletes += keys.length;
      if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('delete', { cache: policy.name, keys });
    }
    await this.changed(keys, undefined, policy);
  }

  /**
   * After keys changed in Redis: their dependents are invalidated (only keys something depends on cost
   * a record), and the other instances are told to drop their L1 copies and apply those times.
   */
  private async changed(keys: readonly string[], writtenAt?: number, policy?: CachePolicy): Promise<void> {
    if (keys.length === 0) return;
    // Both in flight at once (one round trip of waiting): most keys have no dependents, so no second message.
    // Memory-only caches announce too: the other instances hold their own copies under the same keys.
    const [times] = await Promise.all([
      this.times.invalidateTracked(keys.map(dependencyId), this.now()),
      this.coherence.announce({ k: [...keys], c: writtenAt }),
    ]);
    if (times.length > 0) {
      await Promise.all([this.coherence.announce({ t: times }), this.purgeAfter(times.map(([id]) => id), policy)]);
    }
  }

  /** After invalidation times were recorded: the hard purge of those ids' keys, when it is on (see `TagPurge`). */
  private purgeAfter(ids: readonly string[], policy: CachePolicy | undefined): Promise<void> | undefined {
    return this.parts.purge?.begin(ids, policy?.counters ?? this.telemetry.counters(NO_CACHE));
  }

  /**
   * The value under `key`, or the factory's result, stored on the way out. Concurrent callers of a
   * missing key share one factory run, and with Redis one run cluster-wide (the distributed lock).
   * A stale entry within grace is served at once and refreshed in the background (one refresh per
   * key). With fail-safe, a stale copy stands in for a factory that fails or times out.
   */
  getOrSet<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<T> {
    const now = this.now();
    const hit = this.peekL1(key, policy, now);
    if (hit !== undefined) {
      if (nearEnd(hit, policy.refreshAhead, now)) this.refreshAhead(key, factory, policy, spec, hit);
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

  /**
   * Invalidates tags or namespaces (O(1) each) at `at` (default now), here and on every instance;
   * `policy` says which cache asked (for metrics and events).
   */
  async invalidate(ids: readonly string[], policy?: CachePolicy, at = this.invalidationTime()): Promise<void> {
    if (policy === undefined) await this.times.invalidate(ids, at);
    else {
      await this.timed(policy, 'strata.l2.invalidate', policy.counters.latency.l2Invalidate, () => this.times.invalidate(ids, at));
      policy.counters.invalidations += ids.length;
      if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('invalidate', { cache: policy.name, ids });
    }
    // The purge moves the tags' key indexes aside in the same round trip as the announcement.
    await Promise.all([this.coherence.announce({ t: ids.map((id) => [id, at]) }), this.purgeAfter(ids, policy)]);
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
      policy.counters.l2Errors += 1;
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
    this.parts.purge?.dispose();
  }

  /** Resolves once the background refreshes running now are done (shutdown drains them; tests wait on it). */
  async settled(): Promise<void> {
    while (this.refreshes.size > 0) await this.refreshes.settled();
  }

  /** A scheduled invalidation (`expireAt`) whose time has come. Tags are invalidated as of `when`. */
  async applyScheduled(target: ScheduledTarget, when: number): Promise<void> {
    if (target.keys !== undefined && target.keys.length > 0) await this.remove(target.keys);
    if (target.ids !== undefined && target.ids.length > 0) await this.invalidate(target.ids, undefined, when);
  }

  /**
   * Fills a key from its factory now, whether or not it is cached (warming with `force`), and tells
   * the other instances to drop their older copy.
   */
  async recompute<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<T> {
    // Not `compute`: its lock path would hand back the fresh value we were asked to replace.
    const value = await this.flights.run(key, async () => {
      let lease: Lease | undefined;
      if (this.lock !== undefined && policy.useL2 && this.l2?.healthy) {
        const taken = await this.lock.tryAcquire(key);
        if (taken !== undefined && taken !== LOCK_FAILED) lease = taken;
      }
      return this.runFactory(key, factory, policy, spec, lease);
    });
    await this.changed([key], undefined, policy);
    return value;
  }

  private async load<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<T> {
    let stale = this.l1 ? this.usableL1(key, policy, this.now()) : undefined;
    let lease: Lease | undefined;
    if (policy.useL2) {
      let found: CacheEntry | undefined;
      if (this.lock !== undefined && this.l2?.healthy && this.telemetry.tracing.tracer() === undefined) {
        ({ found, lease } = await this.readL2OrLock(key, policy, this.lock));
      } else {
        found = await this.readL2(key, policy);
      }
      if (found !== undefined) {
        const at = this.now();
        if (found.expiresAt > at) {
          if (nearEnd(found, policy.refreshAhead, at)) this.refreshAhead(key, factory, policy, spec, found);
          this.warmer?.read(key);
          return found.value as T;
        }
        if (stale === undefined || found.createdAt > stale.createdAt) stale = found;
      }
    }
    const now = this.now();
    // Served from a stale copy after all: the lock taken with the first read goes back at once.
    if (lease !== undefined && stale !== undefined && (stale.staleUntil > now || this.throttle.blocked(key, now))) {
      void this.lock?.release(lease);
      lease = undefined;
    }
    if (stale !== undefined && stale.staleUntil > now) {
      policy.counters.staleHits += 1;
      policy.counters.hits += 1;
      if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('hit', { cache: policy.name, key, tier: 'stale' });
      this.refreshInBackground(key, factory, policy, spec);
      return stale.value as T;
    }
    // Past grace, a stale copy is only there for fail-safe: the factory failed lately, so do not call it yet.
    if (stale !== undefined && this.throttle.blocked(key, now)) return this.serveFailSafe(key, stale, policy);
    this.missed(key, policy);
    return this.compute(key, factory, policy, spec, stale, lease);
  }

  /**
   * `readL2` and, when the key is missing, the cluster-wide lock, in one round trip (one script): a miss
   * then costs this and the fenced write, like a get and a set. A hit takes no lock. The lease is
   * undefined when the entry exists (usable or not) or another holder has the lock (the miss path then
   * waits for it as before), or when the store did not answer.
   */
  private async readL2OrLock(key: string, policy: CachePolicy, lock: DistributedLock): Promise<{ found: CacheEntry | undefined; lease: Lease | undefined }> {
    const l2 = this.l2!;
    const mark = this.coherence.mark();
    const started = performance.now();
    let step: Awaited<ReturnType<DistributedLock['readOrAcquire']>>;
    try {
      step = await lock.readOrAcquire(key);
    } finally {
      policy.counters.latency.l2Get.observe(performance.now() - started);
    }
    if (step === LOCK_FAILED) {
      policy.counters.l2Misses += 1;
      return { found: undefined, lease: undefined };
    }
    const entry = step.bytes === undefined || l2.inDoubt(key) ? undefined : l2.tier.decode(key, step.bytes);
    return { found: await this.accepted(key, entry, policy, true, mark), lease: step.lease };
  }

  /** The miss path: the cluster-wide lock (or the holder's result), then the factory under its timeouts. */
  private async compute<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec, stale?: CacheEntry, held?: Lease): Promise<T> {
    let lease: Lease | undefined = held;
    if (lease !== undefined) {
      policy.counters.lockAcquired += 1;
    } else if (this.lock !== undefined && policy.useL2 && this.l2?.healthy) {
      const mark = this.coherence.mark();
      const lock = this.lock;
      const acquire = () => lock.acquireOrWait(key, (bytes) => this.freshFrom(key, bytes, policy, mark));
      const tracer = this.telemetry.tracing.tracer();
      const outcome = await (tracer === undefined ? acquire() : this.telemetry.tracing.span(tracer, 'strata.lock', { 'strata.cache': policy.name }, acquire));
      if (outcome.kind === 'result') {
        policy.counters.lockWaited += 1;
        return outcome.result.value as T;
      }
      if (outcome.kind === 'acquired') {
        policy.counters.lockAcquired += 1;
        lease = outcome.lease;
      } else if (outcome.kind === 'timed-out') {
        policy.counters.lockTimeouts += 1;
      }
    }
    const { soft, hard } = spec.timeouts ?? policy.timeouts;
    const abort = hard === undefined ? undefined : new AbortController();
    const running = this.runFactory(key, factory, policy, spec, lease, abort?.signal);
    // A soft timeout only makes sense with a stale copy to return instead.
    const softMs = stale !== undefined && policy.failSafe !== undefined ? soft : undefined;
    try {
      if (softMs === undefined && hard === undefined) return await running;
      running.catch(() => undefined); // the caller may leave on a timeout; the run is logged by runFactory
      const raced = await raceTimeouts(running, softMs, hard);
      if (raced.kind === 'value') return raced.value;
      if (raced.kind === 'soft') {
        policy.counters.softTimeouts += 1;
        return this.serveFailSafe(key, stale!, policy);
      }
      policy.counters.hardTimeouts += 1;
      const timedOut = new FactoryTimeoutError(key, hard!);
      abort?.abort(timedOut);
      throw timedOut;
    } catch (error) {
      return this.failSafe(key, error, stale, policy);
    }
  }

  /**
   * Runs the factory once and stores its result (fenced by the lease, which the write releases), even
   * when the caller stopped waiting after a timeout: a late result still updates the cache. The entry's
   * `createdAt` is when the factory started, so an invalidation that lands while it runs (it may have
   * read the old data) covers the result too.
   */
  private runFactory<T>(
    key: string,
    factory: Factory<T>,
    policy: CachePolicy,
    spec: WriteSpec,
    lease: Lease | undefined,
    signal: AbortSignal = NEVER_ABORTED,
  ): Promise<T> {
    policy.counters.factoryRuns += 1;
    return (async () => {
      let value: T;
      const startedAt = this.now();
      try {
        // Dependencies are tracked before the factory reads them, so deleting one meanwhile is recorded.
        if (spec.dependsOn !== undefined && spec.dependsOn.length > 0) {
          await this.times.track(spec.dependsOn.map(dependencyId), lifetimeBound(spec));
        }
        value = await this.timed(policy, 'strata.factory', policy.counters.latency.factory, () => factory({ signal }));
      } catch (error) {
        policy.counters.factoryErrors += 1;
        if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('error', { cache: policy.name, tier: 'factory', error, key });
        if (policy.failSafe !== undefined) this.throttle.failed(key, this.now() + policy.failSafe.throttle);
        // Not awaited: waiters are released at once; the release still reaches Redis before any later
        // command on this connection, so a caller retrying at once finds the lock free.
        if (lease !== undefined) void this.lock?.release(lease);
        throw error;
      }
      this.throttle.succeeded(key);
      // `unless` and tags derived from the result (getOrSet options): nothing stored, or another spec.
      const settled = spec.settle === undefined ? spec : spec.settle(value);
      if (settled === undefined) {
        if (lease !== undefined) void this.lock?.release(lease);
        return value;
      }
      const resolved = await this.withDependencies(settled, policy);
      const entry = await this.write(key, value, policy, resolved, startedAt, lease);
      if (entry === undefined) await this.delete([key], policy);
      else if (entry !== null) this.warmer?.remember(key, factory, policy, settled, startedAt, entry.expiresAt);
      return value;
    })();
  }

  /** A factory failure (or hard timeout): the stale copy when fail-safe allows it, else the error. */
  private failSafe<T>(key: string, error: unknown, stale: CacheEntry | undefined, policy: CachePolicy): T {
    const now = this.now();
    if (stale === undefined || policy.failSafe === undefined || stale.staleUntil + policy.failSafe.window <= now) throw error;
    this.throttle.failed(key, now + policy.failSafe.throttle);
    this.warnOnce(`fail-safe:${key}`, `factory of ${key} failed (${String(error)}): serving a stale copy (fail-safe)`);
    return this.serveFailSafe(key, stale, policy);
  }

  private serveFailSafe<T>(key: string, stale: CacheEntry, policy: CachePolicy): T {
    policy.counters.failSafe += 1;
    policy.counters.staleHits += 1;
    if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('hit', { cache: policy.name, key, tier: 'stale' });
    return stale.value as T;
  }

  /**
   * Writes L2 then L1 (L1 skipped when another instance dropped the key meanwhile), fenced by `lease`
   * when there is one (the write releases it). Returns the entry written, `undefined` when the value
   * cannot be stored, or `null` when the lock was lost and nothing was written (a newer value stands).
   */
  private async write(
    key: string,
    value: unknown,
    policy: CachePolicy,
    spec: WriteSpec,
    createdAt: number,
    lease: Lease | undefined,
  ): Promise<CacheEntry | undefined | null> {
    const write = this.prepare(key, value, policy, spec, createdAt);
    if (write === undefined) {
      if (lease !== undefined) void this.lock?.release(lease);
      return undefined;
    }
    const mark = this.coherence.mark();
    const l2 = this.l2;
    if (policy.useL2 && l2) {
      if (lease === undefined) {
        await this.timed(policy, 'strata.l2.set', policy.counters.latency.l2Set, () => l2.set(write));
      } else {
        const written = await this.timed(policy, 'strata.l2.set', policy.counters.latency.l2Set, () => this.fencedSet(l2, write, lease));
        if (written === false) {
          // Our lock expired and someone else may have written since: their value stands, in L1 too.
          policy.counters.lockLost += 1;
          return null;
        }
        if (written === undefined) void this.lock?.release(lease);
      }
    }
    if (policy.useL1 && this.l1 && this.coherence.mayStore(key, mark)) this.l1.store(write);
    this.wrote(key, policy, spec);
    return write.entry;
  }

  /**
   * The write of a lock holder: fenced where the store can (the write releases the lock), else a plain
   * write, then the release (a holder that lost its lock may then overwrite a newer value: the store
   * declared it cannot prevent that).
   */
  private async fencedSet(l2: L2Facade, write: TierWrite, lease: Lease): Promise<boolean | undefined> {
    if (l2.tier.fencing) return l2.setFenced(write, lease);
    await l2.set(write);
    void this.lock?.release(lease);
    return true;
  }

  /** The spec with the tags a dependent entry needs (see `dependentTags`), its `dep:` ids tracked. */
  private async withDependencies(spec: WriteSpec, policy: CachePolicy): Promise<WriteSpec> {
    const keys = spec.dependsOn;
    if (keys === undefined || keys.length === 0) return spec;
    const entries = await Promise.all(keys.map((key) => this.peekAny(key, policy)));
    const tagIds = dependentTags(spec.tagIds, keys.map(dependencyId), entries);
    await this.times.track(tagIds.filter((id) => id.startsWith('dep:')), lifetimeBound(spec));
    return { ...spec, tagIds };
  }

  /** An entry as stored, current or not (its tags are what matters), without counting a hit or a miss. */
  private async peekAny(key: string, policy: CachePolicy): Promise<CacheEntry | undefined> {
    const local = policy.useL1 && this.coherence.trustL1 ? this.l1?.peek(key) : undefined;
    if (local !== undefined || !policy.useL2 || this.l2 === undefined) return local;
    return this.l2.get(key);
  }

  private refreshAhead<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec, seen: CacheEntry): void {
    if (this.refreshes.has(key)) return;
    policy.counters.refreshAhead += 1;
    this.refreshInBackground(key, factory, policy, spec, seen.createdAt);
  }

  /**
   * One background refresh per key in this process, and with the lock, in the whole cluster. A refresh
   * before expiry (refresh-ahead, predictive warming: `seenCreatedAt` given) first looks in Redis: another
   * instance may have refreshed the key already, and a newer entry not itself near its end is taken.
   */
  private refreshInBackground<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec, seenCreatedAt?: number): void {
    if (this.refreshes.has(key) || this.throttle.blocked(key, this.now())) return;
    this.refreshes
      .run(key, async () => {
        if (seenCreatedAt !== undefined && policy.useL2) {
          const found = await this.readL2(key, policy, false);
          const now = this.now();
          if (found !== undefined && found.createdAt > seenCreatedAt && found.expiresAt > now && !nearEnd(found, policy.refreshAhead, now)) {
            this.warmer?.remember(key, factory, policy, spec, found.createdAt, found.expiresAt);
            return;
          }
        }
        let lease: Lease | undefined;
        if (this.lock !== undefined && policy.useL2 && this.l2?.healthy) {
          const taken = await this.lock.tryAcquire(key);
          if (taken === undefined) return; // another instance is computing it
          if (taken !== LOCK_FAILED) lease = taken;
        }
        await this.runFactory(key, factory, policy, spec, lease);
      })
      .catch((error: unknown) => this.warnOnce(`refresh:${key}`, `background refresh of ${key} failed: ${String(error)}`));
  }

  /**
   * A fresh, current entry from the bytes the lock's step read (a holder's result, for its waiters): the
   * same checks as a read from L2 (in doubt, undecodable, stale, invalidated: none of it is a result).
   */
  private async freshFrom(key: string, bytes: Buffer, policy: CachePolicy, mark: number): Promise<CacheEntry | undefined> {
    const l2 = this.l2;
    if (l2 === undefined || l2.inDoubt(key)) return undefined;
    const entry = await this.accepted(key, l2.tier.decode(key, bytes), policy, false, mark);
    return entry !== undefined && entry.expiresAt > this.now() ? entry : undefined;
  }

  /**
   * A fresh value from L1, synchronously, or undefined. Only a hit is counted: after a miss the caller
   * goes on with `get`, which counts it.
   */
  peek<T>(key: string, policy: CachePolicy): T | undefined {
    if (!policy.useL1 || this.l1 === undefined || !this.coherence.trustL1) return undefined;
    const entry = this.freshL1(this.l1, key, policy, this.now());
    if (entry === undefined) return undefined;
    this.hitL1(key, policy);
    return entry.value as T;
  }

  /** An L1 entry that is fresh and not invalidated; counts the L1 hit or miss, and times one lookup in 64. */
  private peekL1(key: string, policy: CachePolicy, now: number): CacheEntry | undefined {
    if (!policy.useL1 || this.l1 === undefined || !this.coherence.trustL1) return undefined;
    if (--this.untilSample !== 0) return this.lookL1(this.l1, key, policy, now);
    this.untilSample = L1_SAMPLE_EVERY;
    const started = performance.now();
    const entry = this.lookL1(this.l1, key, policy, now);
    policy.counters.latency.l1Get.observe(performance.now() - started);
    return entry;
  }

  private lookL1(l1: MemoryTier, key: string, policy: CachePolicy, now: number): CacheEntry | undefined {
    const entry = this.freshL1(l1, key, policy, now);
    if (entry !== undefined) this.hitL1(key, policy);
    else policy.counters.l1Misses += 1;
    return entry;
  }

  private freshL1(l1: MemoryTier, key: string, policy: CachePolicy, now: number): CacheEntry | undefined {
    const entry = l1.peek(key);
    return entry !== undefined && entry.expiresAt > now && this.times.isCurrent(entry, policy.namespaceId) ? entry : undefined;
  }

  private hitL1(key: string, policy: CachePolicy): void {
    policy.counters.l1Hits += 1;
    policy.counters.hits += 1;
    if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('hit', { cache: policy.name, key, tier: 'l1' });
  }

  /** An L1 entry that can still be served: fresh, in grace, or (with fail-safe) within the fail-safe window. */
  private usableL1(key: string, policy: CachePolicy, now: number): CacheEntry | undefined {
    if (!policy.useL1 || this.l1 === undefined || !this.coherence.trustL1) return undefined;
    const entry = this.l1.peek(key);
    return entry !== undefined && usableUntil(entry, policy) > now && this.times.isCurrent(entry, policy.namespaceId) ? entry : undefined;
  }

  /** A usable (fresh, in grace or in the fail-safe window) and current entry from L2, promoted to L1 when fresh. */
  private async readL2(key: string, policy: CachePolicy, count = true): Promise<CacheEntry | undefined> {
    const l2 = this.l2;
    if (l2 === undefined) return undefined;
    const mark = this.coherence.mark();
    // Timed inline rather than through `timed` (one promise layer fewer) unless a tracer wants a span.
    let entry: CacheEntry | undefined;
    if (this.telemetry.tracing.tracer() === undefined) {
      const started = performance.now();
      try {
        entry = await l2.get(key);
      } finally {
        policy.counters.latency.l2Get.observe(performance.now() - started);
      }
    } else {
      entry = await this.timed(policy, 'strata.l2.get', policy.counters.latency.l2Get, () => l2.get(key));
    }
    return this.accepted(key, entry, policy, count, mark);
  }

  /**
   * What `readL2` read, if it can be served: usable, and not invalidated (promoted to L1 when fresh).
   * Synchronous when the invalidation times are known (the steady state, kept current by the bus): no
   * promise on the hot path; otherwise they are loaded first.
   */
  private accepted(
    key: string,
    entry: CacheEntry | undefined,
    policy: CachePolicy,
    count: boolean,
    mark: number,
  ): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    const now = this.now();
    if (entry === undefined || usableUntil(entry, policy) <= now) {
      if (count) policy.counters.l2Misses += 1;
      return undefined;
    }
    if (this.times.knowsAll(entry, policy.namespaceId)) return this.settle(key, entry, policy, count, mark, true, now);
    return this.times.load(this.times.idsOf(entry, policy.namespaceId)).then((verified) => this.settle(key, entry, policy, count, mark, verified, now));
  }

  private settle(key: string, entry: CacheEntry, policy: CachePolicy, count: boolean, mark: number, verified: boolean, now: number): CacheEntry | undefined {
    if (!verified || !this.times.isCurrent(entry, policy.namespaceId)) {
      if (count) policy.counters.l2Misses += 1;
      return undefined;
    }
    if (entry.expiresAt > now) {
      if (count) this.hitL2(key, entry, policy, mark);
      else this.promote(key, entry, policy, mark);
    } else if (count) {
      policy.counters.l2Misses += 1;
    }
    return entry;
  }

  private hitL2(key: string, entry: CacheEntry, policy: CachePolicy, mark: number): void {
    policy.counters.l2Hits += 1;
    policy.counters.hits += 1;
    if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('hit', { cache: policy.name, key, tier: 'l2' });
    this.promote(key, entry, policy, mark);
  }

  private missed(key: string, policy: CachePolicy): void {
    policy.counters.misses += 1;
    if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('miss', { cache: policy.name, key });
  }

  private wrote(key: string, policy: CachePolicy, spec: WriteSpec): void {
    policy.counters.sets += 1;
    if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('set', { cache: policy.name, key, tags: spec.tagIds });
  }

  /**
   * Times a Redis call or a factory run into `histogram`, inside a span when the app registered an
   * OpenTelemetry tracer provider (none otherwise: one global lookup, no span objects).
   */
  private async timed<T>(policy: CachePolicy, span: string, histogram: LatencyHistogram, op: () => Promise<T> | T): Promise<T> {
    const started = performance.now();
    const tracer = this.telemetry.tracing.tracer();
    try {
      return tracer === undefined ? await op() : await this.telemetry.tracing.span(tracer, span, { 'strata.cache': policy.name }, op);
    } finally {
      histogram.observe(performance.now() - started);
    }
  }

  private promote(key: string, entry: CacheEntry, policy: CachePolicy, mark: number): void {
    // The key was dropped for another instance since the read began: what we read may be what it deleted.
    if (!policy.useL1 || this.l1 === undefined || !this.coherence.mayPromote(key, entry.createdAt, mark)) return;
    // Re-serializing gives L1 its own copy: the caller may change the object it was handed.
    const serialized = this.serialize(key, entry.value, policy);
    if (serialized !== undefined) this.l1.store({ key, entry, serialized });
  }

  private prepare(key: string, value: unknown, policy: CachePolicy, spec: WriteSpec, createdAt: number): TierWrite | undefined {
    // Readers refuse more (each tag is a time to look up), so such an entry would never be read back.
    if (spec.tagIds.length > MAX_ENTRY_TAGS) {
      policy.counters.notCacheable += 1;
      this.warnOnce(`tags:${policy.namespaceId}`, `a value for ${key} was not cached: ${spec.tagIds.length} tags, more than ${MAX_ENTRY_TAGS}`);
      return undefined;
    }
    const serialized = this.serialize(key, value, policy);
    if (serialized === undefined) return undefined;
    const now = this.now();
    const expiresAt = now + jittered(this.ttlOf(key, value, policy, spec), policy.ttlJitter, this.parts.random);
    const staleUntil = expiresAt + spec.grace;
    const entry = { value, createdAt, expiresAt, staleUntil, tags: spec.tagIds };
    // With fail-safe, Redis keeps the stale copy for the window past grace, so it can stand in for a failing factory.
    const keepUntil = policy.failSafe === undefined ? undefined : staleUntil + policy.failSafe.window;
    return { key, serialized, entry, codec: policy.codec, keepUntil };
  }

  /** A fixed ttl, or an adaptive one (a function of the value); a function that throws falls back to the policy's. */
  private ttlOf(key: string, value: unknown, policy: CachePolicy, spec: WriteSpec): number {
    if (typeof spec.ttl === 'number') return spec.ttl;
    try {
      return spec.ttl(value);
    } catch (error) {
      if (this.parts.strict) throw error;
      this.warnOnce(`ttl:${policy.namespaceId}`, `the ttl function for ${key} threw (${String(error)}); used the cache's ttl`);
      return policy.ttl;
    }
  }

  private serialize(key: string, value: unknown, policy: CachePolicy): SerializedValue | undefined {
    let serialized: SerializedValue;
    try {
      serialized = policy.codec.serializeValue(value);
    } catch (error) {
      if (!(error instanceof NotSerializableError)) throw error;
      policy.counters.notCacheable += 1;
      if (this.parts.strict) throw error;
      this.warnOnce(`serialize:${policy.namespaceId}`, `a value for ${key} was not cached: ${error.message}`);
      return undefined;
    }
    // In UTF-8 bytes, as readers bound it; UTF-16 length is at least a third of that, so only texts
    // near the bound are measured.
    const max = this.parts.maxValueBytes;
    const text = serialized.text;
    if (text.length > max || (text.length * 3 > max && Buffer.byteLength(text, 'utf8') > max)) {
      policy.counters.tooLarge += 1;
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
