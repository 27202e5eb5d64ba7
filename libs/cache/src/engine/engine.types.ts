import type { EntryCodec } from '../codec/entry.codec';
import type { CacheCounters } from '../observability/stats';
import type { ResolvedFailSafe, ResolvedTimeouts } from '../resilience/resilience.options';

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
  /** This call's refresh-ahead fraction (0: off), instead of the policy's. */
  readonly refreshAhead?: number;
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
  /**
   * True when the factory runs as a background refresh (stale-while-revalidate, refresh-ahead, predictive
   * warming): no caller waits for this result, it only refreshes the cache.
   */
  readonly background?: boolean;
}

export type Factory<T> = (context: FactoryContext) => Promise<T> | T;

/**
 * How a `getOrSet` answered: `hit` from a fresh stored entry (in `l1`, or in `l2`, the shared store and
 * the cold tier under it; a value another instance stored while this call waited for its lock is one),
 * `stale` from a stale entry (within grace, refreshed in the background; or fail-safe in place of a
 * failing factory), `miss` from the factory (this call's, or the one a concurrent call ran).
 */
export interface GetOrSetResult<T> {
  readonly value: T;
  readonly status: 'hit' | 'stale' | 'miss';
  readonly tier: 'l1' | 'l2' | 'factory';
  /** Milliseconds since the entry was created (when its factory started); 0 for a miss. */
  readonly age: number;
  /**
   * Set when this call's own factory was handed to a background refresh (a `stale` answer): settles when
   * that refresh ends, whether it ran the factory or found it done elsewhere. Undefined otherwise.
   */
  readonly refreshing?: Promise<void>;
}

/** How a `getOrSet` answered, as the handler records it on its way (see `GetOrSetResult`). */
export interface Answered {
  status: GetOrSetResult<unknown>['status'];
  tier: GetOrSetResult<unknown>['tier'];
  /** The served entry's `createdAt`; undefined for a factory result (age 0). */
  createdAt: number | undefined;
  /** Where the stale copy the miss path holds came from (what a fail-safe answer reports). */
  staleTier: 'l1' | 'l2';
}

export function answered(how: Answered, status: Answered['status'], tier: Answered['tier'], createdAt: number | undefined): void {
  how.status = status;
  how.tier = tier;
  how.createdAt = createdAt;
}

/** How long dependency records are kept when the ttl is adaptive (only known once the value is). */
const ADAPTIVE_TTL_BOUND = 30 * 24 * 3600 * 1000;

/** An upper bound of an entry's lifetime, for records that must outlive it. */
export function lifetimeBound(spec: WriteSpec): number {
  return (typeof spec.ttl === 'number' ? spec.ttl : ADAPTIVE_TTL_BOUND) + spec.grace;
}
