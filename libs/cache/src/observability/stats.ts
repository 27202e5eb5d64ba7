import type { Advice } from './advice.types';
import { LatencyHistogram, type LatencySummary } from './latency';

/** Bounds of the similarity histogram of semantic hits (cosine similarity, 0..1). */
export const SIMILARITY_BOUNDS: readonly number[] = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.96, 0.98, 0.99, 1];

/**
 * Timings kept per cache name. Redis calls and factory runs are all timed; L1 lookups are timed one in
 * `L1_SAMPLE_EVERY` (a hit takes well under a microsecond: timing every one would double its cost).
 */
export class CacheLatencies {
  readonly l1Get = new LatencyHistogram();
  readonly l2Get = new LatencyHistogram();
  readonly l2Set = new LatencyHistogram();
  readonly l2Delete = new LatencyHistogram();
  readonly l2Invalidate = new LatencyHistogram();
  readonly factory = new LatencyHistogram();
  /** The PostgreSQL cold tier: reads after a Redis miss, and writes (write-through). */
  readonly l3Get = new LatencyHistogram();
  readonly l3Set = new LatencyHistogram();
}

/**
 * Counters of one named cache (every view of that name shares them). Plain numbers: a hit costs one
 * increment, nothing more; Prometheus and `stats()` read them when asked.
 */
export class CacheCounters {
  /** Lookups answered from a tier (L1, L2 or a stale copy) and lookups that were not. */
  hits = 0;
  misses = 0;
  l1Hits = 0;
  l1Misses = 0;
  l2Hits = 0;
  l2Misses = 0;
  /**
   * The PostgreSQL cold tier, for caches that list it: Redis misses it answered (also counted as L2
   * hits: the engine sees L2 and L3 as one remote tier) or not, its failures, and its rows promoted to Redis.
   */
  l3Hits = 0;
  l3Misses = 0;
  l3Errors = 0;
  l3Promotions = 0;
  /** Stale entries served (stale-while-revalidate or fail-safe). */
  staleHits = 0;
  /** Factory runs, and those that threw. */
  factoryRuns = 0;
  factoryErrors = 0;
  /** L2 operations that failed or were skipped because the circuit was open. */
  l2Errors = 0;
  /** Entries that failed to decode and were deleted. */
  corrupt = 0;
  /** Values that could not be serialized (functions, circular structures) and were not cached. */
  notCacheable = 0;
  /** Values over `maxValueBytes`, not cached. */
  tooLarge = 0;
  /** L1 entries evicted for room. Kept on the stack's totals: L1 is shared by every cache name. */
  evictions = 0;
  /** Writes (`set`, `setMany` items, factory results), keys deleted, tags and namespaces invalidated. */
  sets = 0;
  deletes = 0;
  invalidations = 0;
  /** Keys removed from Redis by the hard purge of invalidated tags (`invalidation.purge`). */
  purged = 0;
  /** Hook for the AI cache: hits answered by a similar (not identical) prompt, and their similarity. */
  semanticHits = 0;
  readonly similarity = new Float64Array(SIMILARITY_BOUNDS.length + 1);
  similaritySum = 0;
  /** Hook for the AI cache: tokens and money (in the unit the caller reports, e.g. USD) saved by hits. */
  tokensSaved = 0;
  costSaved = 0;
  /** Stale copies served because the factory failed, timed out, or is throttled after a failure (fail-safe). */
  failSafe = 0;
  /** Factory calls that ran past their soft timeout (a stale copy was returned) or hard timeout. */
  softTimeouts = 0;
  hardTimeouts = 0;
  /** Distributed lock: taken by this instance; a holder's result served instead of running the factory; waited the whole lock TTL; a fenced write refused because the lock was lost. */
  lockAcquired = 0;
  lockWaited = 0;
  lockTimeouts = 0;
  lockLost = 0;
  /** Key, tag or condition functions of cache decorators that threw: the call went through uncached. */
  keyErrors = 0;
  /** Background refreshes started by refresh-ahead and by predictive warming. */
  refreshAhead = 0;
  predictiveRefreshes = 0;
  readonly latency = new CacheLatencies();

  /** Adds `other` into this one (totals over cache names). */
  add(other: CacheCounters): void {
    for (const field of NUMERIC_FIELDS) this[field] += other[field];
    for (let i = 0; i < this.similarity.length; i++) this.similarity[i] += other.similarity[i];
    for (const op of LATENCY_FIELDS) this.latency[op].add(other.latency[op]);
  }

  /** A copy, for computing rates over a window (`minus`). */
  snapshot(): CacheCounters {
    const copy = new CacheCounters();
    copy.add(this);
    return copy;
  }

  /** What happened after `earlier` (a snapshot of these counters). */
  minus(earlier: CacheCounters | undefined): CacheCounters {
    const diff = this.snapshot();
    if (earlier === undefined) return diff;
    for (const field of NUMERIC_FIELDS) diff[field] -= earlier[field];
    for (let i = 0; i < diff.similarity.length; i++) diff.similarity[i] -= earlier.similarity[i];
    for (const op of LATENCY_FIELDS) {
      const since = this.latency[op].since(earlier.latency[op]);
      diff.latency[op].counts.set(since.counts);
      diff.latency[op].count = since.count;
      diff.latency[op].sumMs = since.sumMs;
    }
    return diff;
  }
}

/** How a warmer's run (or interval tick) ended: it ran (`ok`, `partial`: some entries failed, `error`: the warmer threw), or it was skipped. */
export type WarmerOutcome = 'ok' | 'partial' | 'error' | 'skipped_busy' | 'skipped_elsewhere';
export const WARMER_OUTCOMES: readonly WarmerOutcome[] = ['ok', 'partial', 'error', 'skipped_busy', 'skipped_elsewhere'];

/** Counters of one `@CacheWarmer` method (by `Class.method`). */
export class WarmerCounters {
  readonly outcomes: Record<WarmerOutcome, number> = { ok: 0, partial: 0, error: 0, skipped_busy: 0, skipped_elsewhere: 0 };
  /** Entries over all runs: filled, left alone because fresh, failed. */
  warmed = 0;
  fresh = 0;
  failed = 0;
}

type NumericField = {
  [K in keyof CacheCounters]: CacheCounters[K] extends number ? K : never;
}[keyof CacheCounters];

const NUMERIC_FIELDS: readonly NumericField[] = [
  'hits', 'misses', 'l1Hits', 'l1Misses', 'l2Hits', 'l2Misses', 'staleHits', 'factoryRuns', 'factoryErrors', 'l2Errors',
  'corrupt', 'notCacheable', 'tooLarge', 'evictions', 'sets', 'deletes', 'invalidations', 'purged', 'semanticHits', 'similaritySum',
  'tokensSaved', 'costSaved', 'failSafe', 'softTimeouts', 'hardTimeouts', 'lockAcquired', 'lockWaited', 'lockTimeouts',
  'lockLost', 'refreshAhead', 'predictiveRefreshes', 'keyErrors', 'l3Hits', 'l3Misses', 'l3Errors', 'l3Promotions',
];
export const LATENCY_FIELDS: readonly (keyof CacheLatencies)[] = ['l1Get', 'l2Get', 'l2Set', 'l2Delete', 'l2Invalidate', 'factory', 'l3Get', 'l3Set'];

export interface TierStats {
  hits: number;
  misses: number;
  hitRate: number;
}

/** Latency percentiles per tier and operation, in milliseconds. L1 is sampled (one lookup in 64). */
export interface LatencyStats {
  l1: { get: LatencySummary };
  l2: { get: LatencySummary; set: LatencySummary; delete: LatencySummary; invalidate: LatencySummary };
  /** The PostgreSQL cold tier: a read after a Redis miss, a write-through. Empty without it. */
  l3: { get: LatencySummary; set: LatencySummary };
  factory: LatencySummary;
}

/** What one named cache did (every view of the name counts here). */
export interface NamedCacheStats {
  hits: number;
  misses: number;
  hitRate: number;
  l1: TierStats;
  l2: TierStats & { errors: number };
  /** The PostgreSQL cold tier (caches that list it): Redis misses it answered (counted in `l2.hits` too) or not. */
  l3: TierStats & { errors: number; promotions: number };
  stale: number;
  factory: { runs: number; errors: number };
  sets: number;
  deletes: number;
  invalidations: number;
  /** Keys the hard purge removed from Redis after this cache invalidated tags (`invalidation.purge`). */
  purged: number;
  corrupt: number;
  notCacheable: number;
  tooLarge: number;
  semantic: { hits: number; meanSimilarity: number | undefined; histogram: Array<{ le: number; count: number }> };
  saved: { tokens: number; cost: number };
  latency: LatencyStats;
}

/** What a `@CacheWarmer` did (or all of them together). */
export interface WarmerStats {
  /** Runs that took place (the warmer was called): ok, partial or error. */
  runs: number;
  /** Runs in which the warmer, or the iterable it returned, threw. */
  errors: number;
  /** Entries over all runs: filled, left alone because fresh, and failed (their factory threw). */
  warmed: number;
  fresh: number;
  failed: number;
  /** Interval ticks not run: the previous run was still going (`busy`), or another instance ran this interval (`elsewhere`). */
  skipped: { busy: number; elsewhere: number };
}

export function warmerStats(counters: Iterable<WarmerCounters>): WarmerStats {
  const stats: WarmerStats = { runs: 0, errors: 0, warmed: 0, fresh: 0, failed: 0, skipped: { busy: 0, elsewhere: 0 } };
  for (const c of counters) {
    stats.runs += c.outcomes.ok + c.outcomes.partial + c.outcomes.error;
    stats.errors += c.outcomes.error;
    stats.warmed += c.warmed;
    stats.fresh += c.fresh;
    stats.failed += c.failed;
    stats.skipped.busy += c.outcomes.skipped_busy;
    stats.skipped.elsewhere += c.outcomes.skipped_elsewhere;
  }
  return stats;
}

/** A JSON snapshot of a cache stack, from `CacheService.stats()`. Top-level figures are totals over every cache name. */
export interface CacheStats {
  hits: number;
  misses: number;
  hitRate: number;
  l1: TierStats & { entries: number; bytes: number; maxEntries: number; maxBytes: number; evictions: number };
  /** `pending`: keys and invalidations in doubt, waiting to be replayed once Redis answers (see the circuit breaker). */
  l2: TierStats & { state: 'closed' | 'open' | 'half-open' | 'disabled'; errors: number; pending: number };
  /**
   * The PostgreSQL cold tier: Redis misses it answered (also in `l2.hits`) or not, its failures (never the
   * caller's), rows promoted to Redis, its breaker, the changes waiting to be replayed into it, and the
   * writes waiting behind Redis (`writeBehind` caches).
   */
  l3: TierStats & { state: 'closed' | 'open' | 'half-open' | 'disabled'; errors: number; promotions: number; pending: number; queued: number };
  stale: number;
  factory: { runs: number; errors: number };
  errors: number;
  corrupt: number;
  notCacheable: number;
  tooLarge: number;
  /** Stale copies served in place of a failing or slow factory. */
  failSafe: number;
  /** Factory calls past their soft and hard timeouts. */
  timeouts: { soft: number; hard: number };
  /** The distributed stampede lock (see `CacheCounters`). */
  lock: { acquired: number; waited: number; timedOut: number; lost: number };
  /** Bytes of values before and after compression (only values that were compressed). */
  compression: { values: number; bytesIn: number; bytesOut: number; ratio: number | undefined };
  /**
   * The invalidation bus (`enabled: false` without Redis or with `bus: false`). `state: 'down'` means L1 is
   * bypassed until the bus is back (and L1 reconciled); `reconciles` counts those reconciliations,
   * `recovered` the messages read back from the bus log to close the gaps, and `clears` the gaps the log
   * could not close (L1 cleared); `unsent` is what waits to be published again after Redis failed.
   */
  bus: {
    enabled: boolean;
    connected: boolean | undefined;
    state: 'up' | 'down' | 'disabled';
    published: number;
    received: number;
    reconciles: number;
    recovered: number;
    clears: number;
    unsent: number;
    /** Publish on another instance to applied here, over the last 1024 messages, and the longest ever (ms). */
    delayMs: { p50: number; p99: number; max: number };
  };
  /** Background refreshes: refresh-ahead (a read late in the TTL) and predictive warming. */
  refreshes: { ahead: number; predictive: number };
  /** Keys removed from Redis by the hard purge (`invalidation.purge`), over every cache and cascades or schedules. */
  purged: number;
  saved: { tokens: number; cost: number };
  latency: LatencyStats;
  /** Per cache name. */
  caches: Record<string, NamedCacheStats>;
  /** What looks wrong, each with the threshold that tripped (see the `advice` option). */
  advice: Advice[];
  /** Decorator key, tag or condition functions that threw (the call went through uncached). */
  keyErrors: number;
  /** `@CacheWarmer` methods: totals, and each by `Class.method`. */
  warmers: WarmerStats & { byWarmer: Record<string, WarmerStats> };
}

export function rate(hits: number, misses: number): number {
  const total = hits + misses;
  return total === 0 ? 0 : hits / total;
}

export function latencyStats(latency: CacheLatencies): LatencyStats {
  return {
    l1: { get: latency.l1Get.summary() },
    l2: {
      get: latency.l2Get.summary(),
      set: latency.l2Set.summary(),
      delete: latency.l2Delete.summary(),
      invalidate: latency.l2Invalidate.summary(),
    },
    l3: { get: latency.l3Get.summary(), set: latency.l3Set.summary() },
    factory: latency.factory.summary(),
  };
}

export function namedStats(c: CacheCounters): NamedCacheStats {
  return {
    hits: c.hits,
    misses: c.misses,
    hitRate: rate(c.hits, c.misses),
    l1: { hits: c.l1Hits, misses: c.l1Misses, hitRate: rate(c.l1Hits, c.l1Misses) },
    l2: { hits: c.l2Hits, misses: c.l2Misses, hitRate: rate(c.l2Hits, c.l2Misses), errors: c.l2Errors },
    l3: { hits: c.l3Hits, misses: c.l3Misses, hitRate: rate(c.l3Hits, c.l3Misses), errors: c.l3Errors, promotions: c.l3Promotions },
    stale: c.staleHits,
    factory: { runs: c.factoryRuns, errors: c.factoryErrors },
    sets: c.sets,
    deletes: c.deletes,
    invalidations: c.invalidations,
    purged: c.purged,
    corrupt: c.corrupt,
    notCacheable: c.notCacheable,
    tooLarge: c.tooLarge,
    semantic: {
      hits: c.semanticHits,
      meanSimilarity: c.semanticHits === 0 ? undefined : c.similaritySum / c.semanticHits,
      histogram: SIMILARITY_BOUNDS.map((le, i) => ({ le, count: c.similarity[i] })),
    },
    saved: { tokens: c.tokensSaved, cost: c.costSaved },
    latency: latencyStats(c.latency),
  };
}
