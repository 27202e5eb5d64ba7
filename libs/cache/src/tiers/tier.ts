import type { EntryCodec } from '../codec/entry.codec';
import type { SerializedValue } from '../codec/json.serializer';
import type { CacheEntry } from '../core/entry';

export type { SerializedValue };

export interface TierWrite {
  readonly key: string;
  readonly entry: CacheEntry;
  /** The value run through the serializer once, so every tier reuses the same text. */
  readonly serialized: SerializedValue;
  /** The codec of the view that wrote it (named caches may compress differently); default: the tier's. */
  readonly codec?: EntryCodec;
  /**
   * Until when a tier with expiry should keep the entry: past `staleUntil` when a fail-safe window
   * lets a stale copy stand in for a failing factory. Default `entry.staleUntil`.
   */
  readonly keepUntil?: number;
  /** The writing view's namespace invalidation id: with the entry's tags, what a self-checking store (L3) records. */
  readonly namespaceId?: string;
}

/**
 * One storage tier (memory, Redis, later PostgreSQL). Keys are full keys (see `KeySpace`); entries are
 * envelopes. Tiers store and return what they are given: freshness, tags and namespaces are the engine's
 * business. `get` returns undefined for a missing or undecodable entry; any other failure throws.
 */
export interface CacheTier {
  readonly kind: 'memory' | 'remote';
  get(key: string): Promise<CacheEntry | undefined>;
  getMany(keys: readonly string[]): Promise<(CacheEntry | undefined)[]>;
  /** `sent`, when given, is called synchronously once the store has been handed the write (see `L2FacadeOptions.ordered`). */
  set(write: TierWrite, sent?: () => void): Promise<void>;
  /** `sent`: as for `set`. */
  setMany(writes: readonly TierWrite[], sent?: () => void): Promise<void>;
  delete(keys: readonly string[], sent?: () => void): Promise<void>;
  /** Atomic add; the counter gets `ttlMs` when this call creates it. Counters are not entries. */
  increment(key: string, by: number, ttlMs: number): Promise<number>;
  close(): Promise<void>;
}
