/**
 * The envelope every tier stores (DESIGN §2). Times are epoch milliseconds.
 * An entry is fresh until `expiresAt`, may be served stale (stale-while-revalidate, fail-safe) until
 * `staleUntil`, and is gone after that.
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

export function isFresh(entry: CacheEntry, now: number): boolean {
  return entry.expiresAt > now;
}

export function isServable(entry: CacheEntry, now: number): boolean {
  return entry.staleUntil > now;
}
