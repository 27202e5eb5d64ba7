/**
 * The envelope every tier stores (see docs/ARCHITECTURE.md). Times are epoch milliseconds.
 * An entry is fresh until `expiresAt`, may be served stale (stale-while-revalidate) until `staleUntil`,
 * and after that only in place of a failing factory (fail-safe); `engine/freshness.ts` is the one
 * definition of these states.
 */
export interface CacheEntry<T = unknown> {
  readonly value: T;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly staleUntil: number;
  readonly tags: readonly string[];
}

/**
 * The most tags an entry may carry, written or read: each is an invalidation time to look up on a read,
 * so an entry planted with 100,000 of them would cost every reader a 100,000-key MGET.
 */
export const MAX_ENTRY_TAGS = 1000;
