import type { CacheEntry } from '../core/entry';
import { isPromise } from '../core/promise';
import { FactoryTimeoutError } from '../core/errors';
import { dependencyId } from '../invalidation/dependencies';
import type { Lease } from '../resilience/distributed-lock';
import { RetryThrottle, raceTimeouts } from '../resilience/factory-guard';
import type { EngineContext } from './engine.context';
import { type Answered, type CachePolicy, type Factory, type WriteSpec, answered, lifetimeBound } from './engine.types';
import type { EntryReader } from './entry-reader';
import type { EntryWriter } from './entry-writer';

/** The signal of factories run without a hard timeout: nothing aborts them. */
const NEVER_ABORTED = new AbortController().signal;

/** Told each value a factory computed and stored (predictive warming tracks it). */
export type ComputedListener = (key: string, factory: Factory<unknown>, policy: CachePolicy, spec: WriteSpec, createdAt: number, expiresAt: number) => void;

/**
 * Runs factories: the miss path behind the cluster-wide lock (or the holder's result), the factory
 * under its soft and hard timeouts, fail-safe in place of a failure, and the store of the result.
 */
export class FactoryRunner {
  readonly throttle = new RetryThrottle();

  constructor(
    private readonly ctx: EngineContext,
    private readonly reader: EntryReader,
    private readonly writer: EntryWriter,
    private readonly onComputed: ComputedListener,
  ) {}

  /**
   * The miss path: the cluster-wide lock (or the holder's result), then the factory under its timeouts.
   * `held`: the lock, already taken with the first read (`EntryReader.readL2OrLock`).
   */
  async compute<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec, stale?: CacheEntry, held?: Lease, how?: Answered): Promise<T> {
    const { lock, l2, meter } = this.ctx;
    let lease: Lease | undefined = held;
    if (lease !== undefined) {
      meter.count(policy, 'lockAcquired');
    } else if (lock !== undefined && policy.useL2 && l2?.healthy) {
      const mark = this.ctx.coherence.mark();
      const outcome = await meter.traced(policy, 'strata.lock', () => lock.acquireOrWait(key, (bytes) => this.reader.freshFrom(key, bytes, policy, mark)));
      if (outcome.kind === 'result') {
        meter.count(policy, 'lockWaited');
        if (how !== undefined) answered(how, 'hit', 'l2', outcome.result.createdAt);
        return outcome.result.value as T;
      }
      if (outcome.kind === 'acquired') {
        meter.count(policy, 'lockAcquired');
        lease = outcome.lease;
      } else if (outcome.kind === 'timed-out') {
        meter.count(policy, 'lockTimeouts');
      }
    }
    const { soft, hard } = spec.timeouts ?? policy.timeouts;
    const abort = hard === undefined ? undefined : new AbortController();
    const running = this.run(key, factory, policy, spec, lease, abort?.signal);
    // A soft timeout only makes sense with a stale copy to return instead.
    const softMs = stale !== undefined && policy.failSafe !== undefined ? soft : undefined;
    try {
      if (softMs === undefined && hard === undefined) return await running;
      running.catch(() => undefined); // the caller may leave on a timeout; the run is logged by run()
      const raced = await raceTimeouts(running, softMs, hard);
      if (raced.kind === 'value') return raced.value;
      if (raced.kind === 'soft') {
        meter.count(policy, 'softTimeouts');
        if (how !== undefined) answered(how, 'stale', how.staleTier, stale!.createdAt);
        return this.serveFailSafe(key, stale!, policy);
      }
      meter.count(policy, 'hardTimeouts');
      const timedOut = new FactoryTimeoutError(key, hard!);
      abort?.abort(timedOut);
      throw timedOut;
    } catch (error) {
      const value = this.failSafe<T>(key, error, stale, policy);
      if (how !== undefined) answered(how, 'stale', how.staleTier, stale!.createdAt);
      return value;
    }
  }

  /**
   * Runs the factory once and stores its result (fenced by the lease, which the write releases), even
   * when the caller stopped waiting after a timeout: a late result still updates the cache. The entry's
   * `createdAt` is when the factory started, so an invalidation that lands while it runs (it may have
   * read the old data) covers the result too.
   */
  run<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec, lease: Lease | undefined, signal: AbortSignal = NEVER_ABORTED): Promise<T> {
    const { meter, lock, times } = this.ctx;
    meter.count(policy, 'factoryRuns');
    return (async () => {
      let value: T;
      const startedAt = this.ctx.now();
      try {
        // Dependencies are tracked before the factory reads them, so deleting one meanwhile is recorded.
        if (spec.dependsOn !== undefined && spec.dependsOn.length > 0) await times.track(spec.dependsOn.map(dependencyId), lifetimeBound(spec));
        value = await meter.timed(policy, 'strata.factory', 'factory', () => factory({ signal }));
      } catch (error) {
        meter.factoryFailed(policy, key, error);
        if (policy.failSafe !== undefined) this.throttle.failed(key, this.ctx.now() + policy.failSafe.throttle);
        // Not awaited: waiters are released at once; the release still reaches the store before any later
        // command on this connection, so a caller retrying at once finds the lock free.
        if (lease !== undefined) void lock?.release(lease);
        throw error;
      }
      this.throttle.succeeded(key);
      // `unless` and tags derived from the result (getOrSet options): nothing stored, or another spec.
      const settled = spec.settle === undefined ? spec : spec.settle(value);
      if (settled === undefined) {
        if (lease !== undefined) void lock?.release(lease);
        return value;
      }
      const withDeps = this.writer.withDependencies(settled, policy);
      const resolved = isPromise(withDeps) ? await withDeps : withDeps;
      const entry = await this.writer.write(key, value, policy, resolved, startedAt, lease);
      if (entry === undefined) await this.writer.remove([key], policy.useL2, policy);
      else if (entry !== null) this.onComputed(key, factory as Factory<unknown>, policy, settled, startedAt, entry.expiresAt);
      return value;
    })();
  }

  /** Past grace, a stale copy is only there for fail-safe: served while the factory is throttled after a failure. */
  throttled(key: string, now: number): boolean {
    return this.throttle.blocked(key, now);
  }

  serveFailSafe<T>(key: string, stale: CacheEntry, policy: CachePolicy): T {
    this.ctx.meter.servedFailSafe(policy, key);
    return stale.value as T;
  }

  /** A factory failure (or hard timeout): the stale copy when fail-safe allows it, else the error. */
  private failSafe<T>(key: string, error: unknown, stale: CacheEntry | undefined, policy: CachePolicy): T {
    const now = this.ctx.now();
    if (stale === undefined || policy.failSafe === undefined || stale.staleUntil + policy.failSafe.window <= now) throw error;
    this.throttle.failed(key, now + policy.failSafe.throttle);
    this.ctx.warnOnce(`fail-safe:${key}`, `factory of ${key} failed (${String(error)}): serving a stale copy (fail-safe)`);
    return this.serveFailSafe(key, stale, policy);
  }
}
