import type { AiCacheStatus } from '@strata/cache/ai';

export type XCache = 'HIT' | 'MISS' | 'STALE' | 'SEMANTIC';

/** How a response was served, for the `X-Cache` header. */
export function xCache(status: AiCacheStatus | 'hit' | 'miss'): XCache {
  switch (status) {
    case 'exact':
    case 'hit':
      return 'HIT';
    case 'semantic':
      return 'SEMANTIC';
    case 'stale':
      return 'STALE';
    default:
      return 'MISS';
  }
}
