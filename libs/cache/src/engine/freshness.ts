import type { CacheEntry } from '../core/entry';
import type { CachePolicy } from './engine.types';

/**
 * The one definition of how old an entry is, for every read path:
 * - `fresh`: before `expiresAt`, served as is;
 * - `stale`: past it but within grace (until `staleUntil`), served at once while it is refreshed;
 * - `usable`: past grace but within the fail-safe window, served only in place of a failing factory;
 * - `gone`: none of these.
 */
export type Freshness = 'fresh' | 'stale' | 'usable' | 'gone';

export function freshness(entry: CacheEntry, policy: CachePolicy, now: number): Freshness {
  if (entry.expiresAt > now) return 'fresh';
  if (entry.staleUntil > now) return 'stale';
  return usableUntil(entry, policy) > now ? 'usable' : 'gone';
}

/** Until when an entry can stand in for anything at all: the end of grace, or of the fail-safe window. */
export function usableUntil(entry: CacheEntry, policy: CachePolicy): number {
  return policy.failSafe === undefined ? entry.staleUntil : entry.staleUntil + policy.failSafe.window;
}

/** True when a fresh entry is in the last `fraction` of its lifetime (refresh-ahead). */
export function nearEnd(entry: CacheEntry, fraction: number, now: number): boolean {
  return fraction > 0 && entry.expiresAt - now < (entry.expiresAt - entry.createdAt) * fraction;
}
