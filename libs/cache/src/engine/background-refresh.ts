import { SingleFlight } from '../core/single-flight';
import { LOCK_FAILED, type Lease } from '../resilience/distributed-lock';
import type { EngineContext } from './engine.context';
import type { CachePolicy, Factory, WriteSpec } from './engine.types';
import type { EntryReader } from './entry-reader';
import type { FactoryRunner } from './factory-runner';
import { nearEnd } from './freshness';

/** Told that a refresh found a newer entry elsewhere (predictive warming keeps tracking it). */
export type RefreshedElsewhere = (key: string, factory: Factory<unknown>, policy: CachePolicy, spec: WriteSpec, createdAt: number, expiresAt: number) => void;

/**
 * Refreshes in the background: one per key in this process, and with the lock, in the whole cluster.
 * Stale-while-revalidate, refresh-ahead and predictive warming all start here.
 */
export class BackgroundRefresh {
  private readonly refreshes = new SingleFlight();

  constructor(
    private readonly ctx: EngineContext,
    private readonly reader: EntryReader,
    private readonly runner: FactoryRunner,
    private readonly onNewerElsewhere: RefreshedElsewhere,
  ) {}

  has(key: string): boolean {
    return this.refreshes.has(key);
  }

  /** A fresh hit near its end (refresh-ahead): refreshed once, in the background. */
  ahead<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec, seenCreatedAt: number): void {
    if (this.refreshes.has(key)) return;
    this.ctx.meter.count(policy, 'refreshAhead');
    this.start(key, factory, policy, spec, seenCreatedAt);
  }

  /**
   * Starts a refresh unless one runs or the factory is throttled after a failure. A refresh before
   * expiry (refresh-ahead, predictive warming: `seenCreatedAt` given) first looks in L2: another
   * instance may have refreshed the key already, and a newer entry not itself near its end is taken.
   * Returns the refresh it started (settles when it ends, never rejects), or undefined when none.
   */
  start<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec, seenCreatedAt?: number): Promise<void> | undefined {
    if (this.refreshes.has(key) || this.runner.throttled(key, this.ctx.now())) return undefined;
    return this.refreshes
      .run(key, async () => {
        if (seenCreatedAt !== undefined && policy.useL2) {
          const found = (await this.reader.readL2(key, policy, false))?.entry;
          const now = this.ctx.now();
          if (found !== undefined && found.createdAt > seenCreatedAt && found.expiresAt > now && !nearEnd(found, policy.refreshAhead, now)) {
            this.onNewerElsewhere(key, factory as Factory<unknown>, policy, spec, found.createdAt, found.expiresAt);
            return;
          }
        }
        let lease: Lease | undefined;
        const { lock, l2 } = this.ctx;
        if (lock !== undefined && policy.useL2 && l2?.healthy) {
          const taken = await lock.tryAcquire(key);
          if (taken === undefined) return; // another instance is computing it
          if (taken !== LOCK_FAILED) lease = taken;
        }
        await this.runner.run(key, (context) => factory({ signal: context.signal, background: true }), policy, spec, lease);
      })
      .catch((error: unknown) => this.ctx.warnOnce(`refresh:${key}`, `background refresh of ${key} failed: ${String(error)}`));
  }

  /** Resolves once the refreshes running now are done (shutdown drains them; tests wait on it). */
  async settled(): Promise<void> {
    while (this.refreshes.size > 0) await this.refreshes.settled();
  }
}
