/**
 * The cross-instance stampede lock's storage: one lock per entry key, held by a random token for a TTL
 * and released by compare-and-delete. It is an optimisation, not a correctness guarantee: a holder's
 * write is fenced by its token (`RemoteStore.setFenced`), so one that lost its lock cannot overwrite a
 * newer value. Adapters: Redis (the lock beside the entry, one Cluster slot), memory (one process).
 * The waiting policy (polling, backoff, takeover at expiry) is the engine's (`DistributedLock`).
 * Every method may reject when the store cannot answer.
 */
export interface LockStore {
  /** Takes the lock of `key` for `ttlMs` with `token` if it is free; true when taken. */
  acquire(key: string, token: string, ttlMs: number): Promise<boolean>;
  /**
   * One step of waiting, in one round trip where the store can: the entry bytes under `key` (a holder's
   * result?), the lock taken with `token` if it is free, and how long the lock has left.
   */
  step(key: string, token: string, ttlMs: number, options?: LockStepOptions): Promise<LockStep>;
  /** Releases the lock of `key` only if `token` still holds it; true when it did. */
  release(key: string, token: string): Promise<boolean>;
  /**
   * Where the store can notify: resolves as soon as the lock of `key` is released (its holder's result
   * written, or given up), in any instance, or after `ms` at the latest. `notifying` says whether
   * notifications arrive now (a subscription is up); without them, waiters poll. A store may tell only
   * of releases a `step` found held (Redis: the step leaves a mark, and a release nobody marked is not
   * published), which is how every waiter comes to wait.
   */
  waitForRelease?(key: string, ms: number): Promise<void>;
  readonly notifying?: boolean;
}

export const LockStore = Symbol('LockStore');

export interface LockStepOptions {
  /**
   * Take the lock only when no entry is stored under the key: the first read of a `getOrSet` that
   * missed L1, so that a miss reads and locks in one round trip and a hit takes no lock.
   */
  readonly onlyIfMissing?: boolean;
  /**
   * With `onlyIfMissing`: the caller has just read the entry through the remote store and found
   * nothing, so a store whose step first reads through other tiers (the cold tier) need not again.
   */
  readonly afterRead?: boolean;
}

export interface LockStep {
  /** The entry bytes stored under the key now, if any. */
  readonly bytes: Buffer | undefined;
  /** This step took the lock with its token. */
  readonly taken: boolean;
  /** The lock's remaining lifetime in ms; -2: no lock; -1: a lock without expiry. */
  readonly remainingMs: number;
}
