import type { INestApplicationContext } from '@nestjs/common';
import { CacheStack } from '../cache.stack';
import { InvalidArgumentError } from '../core/errors';
import type { Advice } from '../observability/advice.types';
import type { WarmerOutcome } from '../observability/stats';
import { WarmerExplorer } from '../warming/warmer.explorer';
import { RedisStore } from '../redis/redis.store';

/**
 * What a test of an app that uses the cache may need to observe or drive beyond the public API
 * (`CacheService`, `stats()`, `events`, `CacheHealthIndicator`): the cache's background work, run now
 * instead of waiting for its timer, and a few read-only figures the stats do not carry. Each method is a
 * stable, documented view; none hands out a part of the engine.
 *
 * ```ts
 * const inspector = inspectCache(app); // app: the Nest application (context) that imports CacheModule
 * await cache.getOrSet('k', load);    // starts a background refresh
 * await inspector.settled();          // ... which has landed now
 * ```
 */
export interface CacheInspector {
  /** This instance's id: on the invalidation bus, and as the holder of the `@CacheWarmer` leases it takes. */
  readonly instanceId: string;
  /** Resolves once the background refreshes running now (refresh-ahead, grace, predictive warming) are done. */
  settled(): Promise<void>;
  /** Runs one tick of predictive warming now (as its `interval` would); how many refreshes it started (0 without warming). */
  warmNow(): number;
  /** Applies the scheduled invalidations (`expireAt`) due now (as the poller would); resolves with how many it applied. */
  pollSchedule(): Promise<number>;
  /**
   * Runs one interval tick of a `@CacheWarmer` now (as its `every` would), by `Class.method`: its lease
   * taken first when it is exclusive; resolves with the outcome (rejects for a name no warmer has).
   */
  runWarmer(name: string): Promise<WarmerOutcome>;
  /** Judges the counters against the `advice` thresholds now and logs what tripped (as its `interval` would). */
  adviseNow(): Advice[];
  /** The full keys L1 holds now, fresh or not (empty without L1). */
  l1Keys(): string[];
  /** The L1 bytes held for one tenant (`tenancy.maxL1Bytes`); `tenant` as it appears in keys (escaped). */
  l1TenantBytes(tenant: string): number;
  /** Whether L1 answers reads now: false while the invalidation bus is down and Redis answers (L1 is bypassed). */
  readonly servesL1: boolean;
  /** Commands the Redis client holds in memory now (undefined unless L2 is Redis alone): waiting for a connection, and sent but not answered. */
  redisQueues(): { offline: number; commands: number } | undefined;
}

class StackInspector implements CacheInspector {
  constructor(
    private readonly stack: CacheStack,
    private readonly warmers: WarmerExplorer,
  ) {}

  get instanceId(): string {
    return this.stack.instanceId;
  }

  settled(): Promise<void> {
    return this.stack.engine.settled();
  }

  warmNow(): number {
    return this.stack.engine.warmer?.tick() ?? 0;
  }

  pollSchedule(): Promise<number> {
    return this.stack.schedule.poll();
  }

  runWarmer(name: string): Promise<WarmerOutcome> {
    const runner = this.warmers.runner(name);
    if (runner === undefined) return Promise.reject(new InvalidArgumentError(`no @CacheWarmer named '${name}' (Class.method) in this app`));
    return runner.tick();
  }

  adviseNow(): Advice[] {
    return this.stack.advisor?.check() ?? [];
  }

  l1Keys(): string[] {
    return this.stack.l1 === undefined ? [] : [...this.stack.l1.keys()];
  }

  l1TenantBytes(tenant: string): number {
    return this.stack.l1?.groupBytes(tenant) ?? 0;
  }

  get servesL1(): boolean {
    return this.stack.coherence.trustL1;
  }

  redisQueues(): { offline: number; commands: number } | undefined {
    const store = this.stack.l2?.tier.store;
    return store instanceof RedisStore ? store.queued() : undefined;
  }
}

/** The inspector of the `CacheModule` in `app` (a Nest application or application context). */
export function inspectCache(app: Pick<INestApplicationContext, 'get'>): CacheInspector {
  return new StackInspector(app.get(CacheStack, { strict: false }), app.get(WarmerExplorer, { strict: false }));
}
