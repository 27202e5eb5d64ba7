import type { LoggerService } from '@nestjs/common';
import type { CacheEntry } from '../core/entry';
import { L2UnavailableError } from '../core/errors';
import type { CacheCounters } from '../observability/stats';
import { type BreakerState, CircuitBreaker, describeError } from '../resilience/circuit-breaker';
import type { RedisTier } from './redis.tier';
import type { TierWrite } from './tier';

export interface L2FacadeOptions {
  strict: boolean;
  failureThreshold: number;
  probeInterval: number;
  /** Deletes remembered while Redis is unreachable, replayed before it is used again. */
  pendingDeleteLimit: number;
  counters: CacheCounters;
  logger: LoggerService;
}

/**
 * L2 as the engine sees it: every call behind the circuit breaker, failures counted and turned into
 * misses (or thrown with `strict`), the state logged once per change rather than once per call.
 *
 * Deletes and invalidations that cannot reach Redis are not dropped: they are replayed, in order, after
 * Redis answers again and before the circuit closes, so an entry deleted during an outage cannot come
 * back when Redis does. When more deletes pile up than `pendingDeleteLimit`, the facade stops listing
 * keys and asks the engine (through `onOverflow`) to invalidate whole namespaces instead.
 */
export class L2Facade {
  readonly breaker: CircuitBreaker;
  private pendingDeletes = new Set<string>();
  private pendingTimes = new Map<string, number>();
  private overflowed = false;
  private everConnected = false;
  onOverflow: (() => Promise<void>) | undefined;
  /** Told what was replayed once Redis is back (the bus announces it to the other instances). */
  onReplayed: ((keys: string[], times: ReadonlyMap<string, number>) => void) | undefined;
  /** Writes the invalidation time of a tag or namespace; set by the invalidation registry. */
  writeTimes: ((times: ReadonlyMap<string, number>) => Promise<void>) | undefined;

  constructor(
    readonly tier: RedisTier,
    private readonly options: L2FacadeOptions,
  ) {
    this.breaker = new CircuitBreaker({
      failureThreshold: options.failureThreshold,
      probeInterval: options.probeInterval,
      probe: () => tier.client.ping(),
      beforeClose: () => this.replay(),
      onStateChange: (state, reason) => this.logState(state, reason),
    });
    const client = tier.client;
    client.on('error', () => undefined); // ioredis logs unhandled 'error' events; the breaker reports state.
    client.on('close', () => this.breaker.trip('connection closed'));
    client.on('ready', () => this.breaker.nudge());
    if (client.status !== 'ready') this.breaker.startOpen(`connection ${client.status}`);
  }

  /**
   * Waits (at most `timeoutMs`) for the connection and a successful probe, so the first calls after
   * startup can use Redis. Resolves false when Redis is not there; the breaker keeps probing.
   */
  async connect(timeoutMs: number): Promise<boolean> {
    const client = this.tier.client;
    if (client.status !== 'ready') {
      const ready = await new Promise<boolean>((resolve) => {
        const done = (ok: boolean) => {
          clearTimeout(timer);
          client.off('ready', onReady);
          resolve(ok);
        };
        const onReady = () => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        client.once('ready', onReady);
      });
      if (!ready) return false;
    }
    return this.breaker.probeNow();
  }

  get state(): BreakerState {
    return this.breaker.state;
  }

  get available(): boolean {
    return this.breaker.isClosed;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    return this.guard(() => this.tier.get(key), undefined);
  }

  async getMany(keys: readonly string[]): Promise<(CacheEntry | undefined)[]> {
    return this.guard(() => this.tier.getMany(keys), new Array<undefined>(keys.length));
  }

  async set(write: TierWrite): Promise<void> {
    return this.guard(() => this.tier.set(write), undefined);
  }

  async setMany(writes: readonly TierWrite[]): Promise<void> {
    return this.guard(() => this.tier.setMany(writes), undefined);
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    try {
      await this.breaker.run(() => this.tier.delete(keys));
    } catch (error) {
      for (const key of keys) this.remember(key);
      this.failed(error);
    }
  }

  /** Invalidation times (tags, namespaces) that could not be written are replayed like deletes. */
  async setTimes(times: ReadonlyMap<string, number>): Promise<void> {
    const write = this.writeTimes;
    if (write === undefined || times.size === 0) return;
    try {
      await this.breaker.run(() => write(times));
    } catch (error) {
      for (const [id, time] of times) this.pendingTimes.set(id, Math.max(time, this.pendingTimes.get(id) ?? 0));
      this.failed(error);
    }
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number | undefined> {
    return this.guard(() => this.tier.increment(key, by, ttlMs), undefined);
  }

  /** Runs any Redis work behind the breaker with the same failure policy (used by invalidation). */
  async guard<T, F>(op: () => Promise<T>, fallback: F): Promise<T | F> {
    try {
      return await this.breaker.run(op);
    } catch (error) {
      this.failed(error);
      return fallback;
    }
  }

  get pending(): number {
    return this.pendingDeletes.size + this.pendingTimes.size;
  }

  dispose(): void {
    this.breaker.dispose();
  }

  private failed(error: unknown): void {
    this.options.counters.l2Errors += 1;
    if (this.options.strict) {
      throw error instanceof L2UnavailableError ? error : new L2UnavailableError(describeError(error), { cause: error });
    }
  }

  private remember(key: string): void {
    if (this.overflowed) return;
    if (this.pendingDeletes.size >= this.options.pendingDeleteLimit) {
      this.overflowed = true;
      this.pendingDeletes.clear();
      return;
    }
    this.pendingDeletes.add(key);
  }

  private async replay(): Promise<void> {
    const keys = [...this.pendingDeletes];
    const times = new Map(this.pendingTimes);
    const overflowed = this.overflowed;
    // Straight to the tier: the breaker is half-open and would refuse. A failure keeps the circuit open.
    for (let i = 0; i < keys.length; i += 500) await this.tier.delete(keys.slice(i, i + 500));
    if (times.size > 0 && this.writeTimes) await this.writeTimes(times);
    if (overflowed && this.onOverflow) await this.onOverflow();
    for (const key of keys) this.pendingDeletes.delete(key);
    for (const [id, time] of times) if (this.pendingTimes.get(id) === time) this.pendingTimes.delete(id);
    if (overflowed) this.overflowed = false;
    // After the circuit has closed (this runs just before), so the announcement can use Redis.
    if (keys.length + times.size > 0) setImmediate(() => this.onReplayed?.(keys, times));
    if (keys.length + times.size > 0 || overflowed) {
      this.options.logger.log(
        `Redis tier: replayed ${keys.length} deletes and ${times.size} invalidations made while it was unreachable` +
          (overflowed ? '; too many deletes were pending, so their namespaces were invalidated whole' : ''),
      );
    }
  }

  private logState(state: BreakerState, reason: string): void {
    if (state === 'open') {
      this.options.logger.warn(
        `Redis tier unavailable (${reason}): serving from L1 and factories; probing every ${this.options.probeInterval} ms`,
      );
    } else if (state === 'closed') {
      this.options.logger.log(this.everConnected ? 'Redis tier available again' : 'Redis tier connected');
      this.everConnected = true;
    }
  }
}
