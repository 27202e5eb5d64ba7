import { randomBytes } from 'node:crypto';
import type { LockStore } from '../ports/lock-store';
import type { ResolvedLock } from './resilience.options';

/** A held lock. `acquiredAt` is `performance.now()` on this process, for the caller's own bookkeeping. */
export interface Lease {
  readonly key: string;
  readonly token: string;
  readonly acquiredAt: number;
}

/** What waiting for a key's lock ended with. */
export type LockOutcome<T> =
  /** This process holds the lock: run the factory, then write with `setFenced` (which releases it). */
  | { readonly kind: 'acquired'; readonly lease: Lease }
  /** Another holder's result appeared. */
  | { readonly kind: 'result'; readonly result: T }
  /** The lock TTL passed without a result: run the factory without the lock. */
  | { readonly kind: 'timed-out' }
  /** Redis did not answer: run the factory without the lock (the lock is for efficiency, not correctness). */
  | { readonly kind: 'unavailable' };

/** How Redis work is run (the L2 facade's breaker); resolves `failed` instead of throwing. */
export type LockRunner = <T>(op: () => Promise<T>) => Promise<T | typeof LOCK_FAILED>;
export const LOCK_FAILED = Symbol('lock-failed');

/**
 * The cluster-wide stampede lock (see docs/ARCHITECTURE.md) over a `LockStore`: a random token per
 * holder, released by compare-and-delete. Waiters look for the holder's result and try to take the lock on every step, so
 * a holder that died (or was paused past the TTL) is replaced as soon as its lock expires, and no one
 * waits longer than the TTL. It is an optimisation, not a correctness guarantee (Kleppmann): a factory
 * may still run twice, and the holder's write is fenced by its token (`RemoteStore.setFenced`), so a
 * holder that lost its lock cannot overwrite a newer value.
 *
 * Where the store publishes releases (Redis: the fenced write and the release script PUBLISH the key), a
 * waiter wakes when the holder's result is written, and polls only every `pollInterval` as a safety net;
 * otherwise it polls, starting at 5 ms and growing to `pollInterval`. It never sleeps past the lock's
 * remaining TTL, so a takeover happens within one round trip of the expiry.
 */
export class DistributedLock {
  constructor(
    private readonly store: LockStore,
    readonly options: ResolvedLock,
    private readonly run: LockRunner,
  ) {}

  async tryAcquire(key: string): Promise<Lease | undefined | typeof LOCK_FAILED> {
    const token = newToken();
    const acquiredAt = performance.now();
    const reply = await this.run(() => this.store.acquire(key, token, this.options.ttl));
    if (reply === LOCK_FAILED) {
      // The SET may still reach Redis (a paused server runs it when it wakes up): a lock nobody knows
      // it holds would make every other instance wait its whole TTL. Release it once Redis answers.
      void this.release({ key, token, acquiredAt });
      return LOCK_FAILED;
    }
    return reply ? { key, token, acquiredAt } : undefined;
  }

  /**
   * The first read of a miss and the lock in one round trip: the entry's bytes when one is stored (no
   * lock taken), else the lock when it is free. `held`: another holder has it (wait with
   * `acquireOrWait`). LOCK_FAILED when the store did not answer.
   */
  async readOrAcquire(key: string, afterRead = false): Promise<{ bytes: Buffer | undefined; lease: Lease | undefined } | typeof LOCK_FAILED> {
    const token = newToken();
    const acquiredAt = performance.now();
    const reply = await this.run(() => this.store.step(key, token, this.options.ttl, { onlyIfMissing: true, afterRead }));
    if (reply === LOCK_FAILED) {
      // As in tryAcquire: the script may still run when a paused server wakes up.
      void this.release({ key, token, acquiredAt });
      return LOCK_FAILED;
    }
    return { bytes: reply.bytes, lease: reply.taken ? { key, token, acquiredAt } : undefined };
  }

  /**
   * True when this lease still held the lock and released it; a lock taken over by another token is
   * left alone. When Redis does not answer, it tries again until the lock would have expired anyway.
   */
  async release(lease: Lease): Promise<boolean> {
    for (;;) {
      const reply = await this.run(() => this.store.release(lease.key, lease.token));
      if (reply !== LOCK_FAILED) return reply;
      const retry = Math.max(this.options.pollInterval, 100);
      if (performance.now() + retry >= lease.acquiredAt + this.options.ttl) return false;
      await sleep(retry);
    }
  }

  /**
   * Takes the lock of `key`, or waits for the holder's result: each step tries the lock and `look`s for
   * the result in one round trip (one script: the entry, the lock, its TTL). Never waits longer than the
   * lock TTL; `look` judges the entry bytes found (another holder's result, or not usable).
   */
  async acquireOrWait<T>(key: string, look: (bytes: Buffer) => Promise<T | undefined>): Promise<LockOutcome<T>> {
    const { ttl, pollInterval } = this.options;
    const deadline = performance.now() + ttl;
    let pause = 5;
    let last = false;
    for (;;) {
      const token = newToken();
      const acquiredAt = performance.now();
      const reply = await this.run(() => this.store.step(key, token, ttl));
      if (reply === LOCK_FAILED) {
        // As in tryAcquire: the script may still run when a paused server wakes up.
        void this.release({ key, token, acquiredAt });
        return { kind: 'unavailable' };
      }
      const { bytes, taken, remainingMs: remaining } = reply;
      const lease: Lease | undefined = taken ? { key, token, acquiredAt } : undefined;
      const result = bytes === undefined ? undefined : await look(bytes);
      if (result !== undefined) {
        // Someone wrote the value between our miss and now: no need to compute it.
        if (lease !== undefined) void this.release(lease);
        return { kind: 'result', result };
      }
      if (lease !== undefined) return { kind: 'acquired', lease };
      if (last) return { kind: 'timed-out' };
      const now = performance.now();
      // Wake up at the lock's expiry at the latest (PTTL -2: gone already, try again at once).
      const expiry = remaining === -2 ? now : remaining >= 0 ? now + remaining + 1 : Number.POSITIVE_INFINITY;
      // Told of the release where the store can; the poll stays as a safety net at pollInterval (a
      // notification sent while this step's reply was on its way is missed). Else a growing pause.
      const notified = this.store.waitForRelease !== undefined && this.store.notifying === true;
      let wake = Math.min(now + (notified ? pollInterval : pause), expiry);
      if (wake > deadline) {
        // One last look: at the expiry of a lock that was taken when we started (it ends about at our
        // deadline), otherwise at the deadline itself.
        last = true;
        wake = expiry <= deadline + pollInterval ? expiry : deadline;
      }
      if (this.store.waitForRelease !== undefined) await this.store.waitForRelease(key, wake - now);
      else await sleep(wake - now);
      pause = Math.min(pause * 2, pollInterval);
    }
  }
}

/**
 * A lock token: unique to this process (128 random bits drawn once) and to this call (a counter). Tokens
 * only need to differ between holders, never to be unguessable (whoever can write the lock key can write
 * the entry too); a CSPRNG draw per miss was ~4% of a miss's CPU.
 */
const PROCESS_TOKEN = randomBytes(16).toString('base64url');
let tokens = 0;
function newToken(): string {
  return PROCESS_TOKEN + (++tokens).toString(36);
}

/** Unref'd: a waiter left sleeping when its app closes must not hold the process up until the lock's expiry. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());
}
