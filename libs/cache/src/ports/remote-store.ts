/**
 * The remote store: where L2 (and later L3) entries live, shared by every instance. It stores opaque
 * bytes by key; encoding, freshness, tags and namespaces are the engine's business. Adapters: Redis
 * (standalone, Sentinel, Cluster), the in-process memory store, PostgreSQL, any Keyv store.
 *
 * Every method may reject when the store cannot answer; the engine puts each call behind its circuit
 * breaker and turns failures into misses. An adapter never retries a write on its own after reporting
 * it failed (a late write could land after a later delete).
 */
export interface RemoteStore {
  /** A short name for logs and metrics: `'redis'`, `'memory'`, `'postgres'`, `'keyv'`. */
  readonly name: string;
  /** What this store can do beyond the required methods. Declared by the adapter; the engine checks it. */
  readonly capabilities: RemoteStoreCapabilities;
  /** `'ready'` when calls can be answered now; `'down'` while the connection is lost or not yet made. */
  readonly state: RemoteStoreState;

  /** The bytes stored under `key`, or undefined when there are none (or they expired). */
  get(key: string): Promise<Buffer | undefined>;
  /** `get` of several keys, answers in the order of `keys`; may be one round trip or several. */
  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]>;
  /**
   * Stores `bytes` under `key` for `ttlMs`; `ttlMs <= 0` deletes the key instead. `meta` is what a store
   * that checks invalidation itself needs (PostgreSQL, L3); others ignore it.
   */
  set(key: string, bytes: Buffer, ttlMs: number, meta?: EntryMeta): Promise<void>;
  /** `set` of several items; rejects if any failed (the caller then treats every key as in doubt). */
  setMany(items: readonly StoredBytes[]): Promise<void>;
  /**
   * Only with `capabilities.fencing`: writes the item only while `fence.token` still holds the lock of
   * `fence.key` in this store's lock store, and releases that lock in the same atomic step. Resolves
   * false (nothing written) when the lock was lost: expired, or taken over by another holder.
   */
  setFenced?(item: StoredBytes, fence: Fence): Promise<boolean>;
  /** Removes the keys; resolves with how many existed (0 when the store cannot tell). */
  delete(keys: readonly string[]): Promise<number>;
  /**
   * Removes `key` only if it still holds exactly `bytes` (a corrupt entry, without losing a newer write
   * made meanwhile). Adapters without an atomic compare may leave it out: the engine then deletes the key.
   */
  deleteIfSame?(key: string, bytes: Buffer): Promise<void>;
  /**
   * Atomically adds `by` to the integer counter under `key` and resolves with the new value; a counter
   * this call creates lives `ttlMs`. Counters are not entries and are never read with `get`.
   */
  increment(key: string, by: number, ttlMs: number): Promise<number>;
  /** Resolves when the store answers a round trip; rejects otherwise (the breaker's probe, health checks). */
  ping(): Promise<void>;
  /** Resolves true once `state` is `'ready'` (at once if it is), false after `timeoutMs`. */
  whenReady(timeoutMs: number): Promise<boolean>;
  /** Where the store connects (host:port, Sentinels, nodes), for log lines. */
  readonly address?: string;
  /** The connection's last error seen while `whenReady` waited, for the startup log line. */
  readonly lastError?: string;
  /**
   * Calls `listener` on every change of `state`, with a reason for logs; returns the unsubscribe
   * function. A `'down'` stops the engine using the store at once; `'ready'` lets it probe again.
   */
  onStateChange(listener: (state: RemoteStoreState, reason: string) => void): () => void;
  /** Releases what the adapter opened (never a client the user passed in). */
  close(): Promise<void>;
}

export const RemoteStore = Symbol('RemoteStore');

export type RemoteStoreState = 'ready' | 'down';

export interface StoredBytes {
  readonly key: string;
  readonly bytes: Buffer;
  /** Milliseconds the item lives; `<= 0`: delete the key. */
  readonly ttlMs: number;
  /** See `EntryMeta`; stores that do not check invalidation themselves ignore it. */
  readonly meta?: EntryMeta;
}

/**
 * What the engine knows of an entry beyond its bytes, for a store that must refuse an invalidated entry
 * on its own (L3 survives a Redis flush that loses the invalidation times): when it was created, until
 * when it is fresh, and the invalidation ids (namespace, tags, `dep:` keys) whose recorded times cover it.
 */
export interface EntryMeta {
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly ids: readonly string[];
}

/** The lock a fenced write must still hold: the entry key and the holder's token (see `LockStore`). */
export interface Fence {
  readonly key: string;
  readonly token: string;
}

/** Optional abilities; a store that lacks one gets a clean fallback, never an assumption. */
export interface RemoteStoreCapabilities {
  /** `setFenced` exists: a holder whose lock expired cannot overwrite a newer holder's value. */
  readonly fencing: boolean;
  /** Server-side scripts (multi-step atomic work in one round trip), used by the Redis side stores. */
  readonly scripts: boolean;
  /** Keys can be listed by pattern (a `KeyScanner` exists for this store). */
  readonly scan: boolean;
  /** A cross-instance `LockStore` exists for this store (the stampede lock). */
  readonly lock: boolean;
  /**
   * Every call is bounded by the store's own timeout (a command starts its timer when it is sent and
   * nothing queues before it): the engine then adds no deadline of its own to reads.
   */
  readonly boundedCalls: boolean;
  /** Shared by other processes (Redis, PostgreSQL), so changes must be announced; false for memory. */
  readonly shared: boolean;
}
