import { InvalidArgumentError } from '../core/errors';
import type { LoggerService } from '@nestjs/common';
import type { CacheTelemetry } from '../observability/telemetry';
import type { WarmerCounters, WarmerOutcome } from '../observability/stats';
import { describeError } from '../resilience/circuit-breaker';
import type { WarmEntries, WarmEntry, WarmResult } from './warm';
import type { WarmerPlan } from './warmer-plan';

/**
 * Claims one interval of a warmer for this instance (`SET key NX PX ttl`, left to expire):
 * `held` (run it), `elsewhere` (another instance did), `unavailable` (Redis did not answer).
 */
export type WarmerLease = (ttl: number) => Promise<'held' | 'elsewhere' | 'unavailable'>;

export interface WarmerHost {
  readonly logger: LoggerService;
  readonly telemetry: CacheTelemetry;
  /** Undefined without Redis: every run is local. */
  readonly lease: WarmerLease | undefined;
  /** Keeps a held lease alive for another `ttl` (only while this instance still holds it). */
  readonly extendLease?: (ttl: number) => Promise<void>;
}

/**
 * Runs one `@CacheWarmer` method: at bootstrap and/or on its interval, never two runs at once in this
 * process (a tick that finds a run going is skipped and counted), one run per interval across the
 * cluster when exclusive. Nothing it does throws into the application: a failure is logged (one line a
 * run) and counted.
 */
export class WarmerRunner {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<WarmerOutcome> | undefined;
  private stopped = false;
  private leaseDown = false;
  private readonly counters: WarmerCounters;

  constructor(
    readonly plan: WarmerPlan,
    /** Calls the warmer method on its instance. */
    private readonly call: () => unknown,
    private readonly host: WarmerHost,
  ) {
    this.counters = host.telemetry.warmer(plan.name);
  }

  /** Starts the bootstrap run (if any) and the interval; resolves when the bootstrap run has ended. */
  start(): Promise<unknown> {
    const first = this.plan.onBootstrap ? this.begin(() => this.run(this.plan.force.bootstrap)) : undefined;
    if (this.plan.every !== undefined) {
      this.timer = setInterval(() => void this.tick(), this.plan.every);
      this.timer.unref();
    }
    return first ?? Promise.resolve();
  }

  /** One interval tick (the timer calls it; tests and admin code may too). Resolves with how it ended. */
  tick(): Promise<WarmerOutcome> {
    if (this.current !== undefined) return Promise.resolve(this.record('skipped_busy'));
    return this.begin(async () => {
      if (this.plan.exclusive && this.host.lease !== undefined) {
        const ttl = leaseTtl(this.plan.every ?? 0);
        const lease = await this.host.lease(ttl);
        if (lease === 'elsewhere') return this.record('skipped_elsewhere');
        this.noteLease(lease);
        if (lease === 'held') return this.whileHeld(ttl, () => this.run(this.plan.force.interval));
      }
      return this.run(this.plan.force.interval);
    });
  }

  /** Stops the interval; a run in progress takes no new entries. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Waits for the run in progress (if any) to end, at most `ms`. */
  async drain(ms: number): Promise<void> {
    const current = this.current;
    if (current === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([current, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /**
   * Runs `work` with the lease kept alive (every third of its TTL), so a run longer than the interval
   * does not let another instance start the next one beside it: the intervals it spans are skipped
   * everywhere instead (here as busy, elsewhere as held).
   */
  private async whileHeld(ttl: number, work: () => Promise<WarmerOutcome>): Promise<WarmerOutcome> {
    const extend = this.host.extendLease;
    const keeper = extend === undefined ? undefined : setInterval(() => void extend(ttl), Math.max(1, Math.floor(ttl / 3)));
    keeper?.unref();
    try {
      return await work();
    } finally {
      clearInterval(keeper);
    }
  }

  private begin(work: () => Promise<WarmerOutcome>): Promise<WarmerOutcome> {
    const current = work().finally(() => {
      if (this.current === current) this.current = undefined;
    });
    this.current = current;
    return current;
  }

  private async run(force: boolean): Promise<WarmerOutcome> {
    const started = performance.now();
    let error: { thrown: unknown } | undefined;
    let result: WarmResult = { warmed: 0, fresh: 0, failed: [] };
    try {
      const entries = this.entries(await this.call(), (thrown) => (error = { thrown }));
      result = await this.plan.cache.warm(entries, { concurrency: this.plan.concurrency, force });
    } catch (thrown) {
      error = { thrown };
    }
    const outcome: WarmerOutcome = error !== undefined ? 'error' : result.failed.length > 0 ? 'partial' : 'ok';
    const c = this.counters;
    c.warmed += result.warmed;
    c.fresh += result.fresh;
    c.failed += result.failed.length;
    const { name } = this.plan;
    const failures = result.failed.length;
    if (error !== undefined) {
      const done = result.warmed + result.fresh + failures;
      this.host.logger.error(`@CacheWarmer ${name} failed after ${done} entries: ${describeError(error.thrown)}; the rest are filled on demand`);
    } else if (failures > 0) {
      const first = result.failed[0];
      this.host.logger.warn(
        `@CacheWarmer ${name}: ${failures} of ${failures + result.warmed + result.fresh} entries failed ` +
          `(first: '${first.key}': ${describeError(first.error)}); they are filled on demand`,
      );
    }
    return this.record(outcome, result, performance.now() - started, error?.thrown);
  }

  /**
   * The method's result as entries the cache pulls one at a time: a source that throws midway ends the
   * run (the entries before it stay warmed), and after `stop()` no new entry is taken.
   */
  private entries(produced: unknown, onError: (error: unknown) => void): WarmEntries {
    if (!isEntries(produced)) {
      throw new InvalidArgumentError(`the warmer returned ${produced === null ? 'null' : typeof produced}, not WarmEntry[] or an (async) iterable of WarmEntry`);
    }
    const isStopped = () => this.stopped;
    return (async function* guarded(): AsyncGenerator<WarmEntry> {
      try {
        for await (const entry of produced) {
          if (isStopped()) return;
          yield entry;
        }
      } catch (error) {
        onError(error);
      }
    })();
  }

  private record(outcome: WarmerOutcome, result?: WarmResult, durationMs = 0, error?: unknown): WarmerOutcome {
    this.counters.outcomes[outcome] += 1;
    const events = this.host.telemetry.events;
    if (events.has('warmer')) {
      events.emit('warmer', {
        warmer: this.plan.name,
        cache: this.plan.cacheName,
        outcome,
        warmed: result?.warmed ?? 0,
        fresh: result?.fresh ?? 0,
        failed: result?.failed.length ?? 0,
        durationMs,
        ...(outcome === 'error' ? { error } : {}),
      });
    }
    return outcome;
  }

  /** Redis unreachable: run here (warming is better done twice than not at all); said once per outage. */
  private noteLease(lease: 'held' | 'unavailable'): void {
    if (lease === 'held') {
      this.leaseDown = false;
    } else if (!this.leaseDown) {
      this.leaseDown = true;
      this.host.logger.warn(`@CacheWarmer ${this.plan.name}: Redis did not answer, so this instance runs the interval's run itself (others may too)`);
    }
  }
}

/**
 * An interval's lease lives a little less than the interval, so the instance that ran it finds it gone
 * at its next tick despite timer drift; runs across the cluster are at least this far apart.
 */
export function leaseTtl(every: number): number {
  return Math.max(1, every - Math.min(Math.floor(every / 10), 1000));
}

function isEntries(value: unknown): value is WarmEntries {
  if (typeof value !== 'object' || value === null) return false;
  return Symbol.iterator in value || Symbol.asyncIterator in value;
}
