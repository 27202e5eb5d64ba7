/** Counters of one cache stack. Plain numbers: a hit costs one increment, nothing more. */
export class CacheCounters {
  /** Lookups answered from a tier (L1, L2 or a stale copy) and lookups that were not. */
  hits = 0;
  misses = 0;
  l1Hits = 0;
  l1Misses = 0;
  l2Hits = 0;
  l2Misses = 0;
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
  /** L1 entries evicted for room. */
  evictions = 0;
  /** Key, tag or condition functions of cache decorators that threw: the call went through uncached. */
  keyErrors = 0;
}

export interface TierStats {
  hits: number;
  misses: number;
  hitRate: number;
}

/** A JSON snapshot of a cache stack, from `CacheService.stats()`. */
export interface CacheStats {
  hits: number;
  misses: number;
  hitRate: number;
  l1: TierStats & { entries: number; bytes: number; evictions: number };
  l2: TierStats & { state: 'closed' | 'open' | 'half-open' | 'disabled'; errors: number };
  stale: number;
  factory: { runs: number; errors: number };
  errors: number;
  corrupt: number;
  notCacheable: number;
  tooLarge: number;
  /** Decorator key, tag or condition functions that threw (the call went through uncached). */
  keyErrors: number;
}

export function rate(hits: number, misses: number): number {
  const total = hits + misses;
  return total === 0 ? 0 : hits / total;
}
