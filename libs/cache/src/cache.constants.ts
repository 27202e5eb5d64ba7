/** The injection token of a named cache's `CacheService` view: `@Inject(getCacheToken('ai'))`. */
export function getCacheToken(name: string): string {
  return `StrataCache:${name}`;
}

/** Metadata keys of the cache decorators (namespaced, so they never clash with other libraries). */
export const CACHEABLE_METADATA = 'strata:cacheable';
export const CACHE_PUT_METADATA = 'strata:cache-put';
export const CACHE_EVICT_METADATA = 'strata:cache-evict';
export const CACHE_TAGS_METADATA = 'strata:cache-tags';
export const NO_CACHE_METADATA = 'strata:no-cache';

/** Provide a `() => number` under this token to drive the cache's clock in tests. */
export const CACHE_CLOCK = Symbol('StrataCacheClock');

/** Metadata key of `@CacheWarmer`. */
export const CACHE_WARMER_METADATA = 'strata:cache-warmer';
