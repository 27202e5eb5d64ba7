import { Injectable } from '@nestjs/common';
import { CacheStack } from '../cache.stack';
import type { BreakerState } from '../resilience/circuit-breaker';
import { describeError } from '../resilience/circuit-breaker';
import { InvalidArgumentError } from '../core/errors';

/** The cache's health, from `CacheHealthIndicator.check()`. */
export interface CacheHealth {
  /** `down` when Redis is configured but unreachable (PING failed or the breaker is not closed), or the bus is down. */
  status: 'up' | 'down';
  /**
   * A part is down (Redis, PostgreSQL or the bus) while the cache goes on answering from L1 and the
   * factories: what `isHealthy(key, { whenDegraded: 'up' })` reports as up.
   */
  degraded: boolean;
  redis: {
    status: 'up' | 'down' | 'disabled';
    breaker: BreakerState | 'disabled';
    /** Round trip of the PING, when it answered. */
    pingMs?: number;
    error?: string;
  };
  /**
   * The PostgreSQL cold tier (`disabled` without one): a `SELECT 1` bounded by its statement timeout, its
   * breaker, and the changes waiting to be replayed into it.
   */
  postgres: {
    status: 'up' | 'down' | 'disabled';
    breaker: BreakerState | 'disabled';
    pending: number;
    pingMs?: number;
    error?: string;
  };
  /** `absent` until an invalidation bus registers itself (`CacheTelemetry.setBusConnected`). */
  bus: { status: 'up' | 'down' | 'absent' };
  l1: { entries: number; bytes: number } | undefined;
}

/** How `isHealthy` reports a degraded cache. */
export interface CacheHealthOptions {
  /**
   * `'down'` (default): a part that is down makes the check fail (terminus answers 503), for a probe that
   * must see Redis. `'up'`: the check passes with `degraded: true` in its details — the cache serves from
   * L1 and the factories while Redis is away, so a readiness probe need not take every instance out of
   * service when Redis goes down.
   */
  whenDegraded?: 'down' | 'up';
}

/** The shape `@nestjs/terminus` expects from an indicator: `{ [key]: { status, ...details } }`. */
export type CacheHealthIndicatorResult<Key extends string = string> = Record<Key, { status: 'up' | 'down' } & Record<string, unknown>>;

/**
 * Health of the cache, for `@nestjs/terminus` or on its own (terminus is not needed to use it).
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.cache.isHealthy('cache')]); }
 * ```
 * A memory-only cache is always up. With Redis, it sends a PING (bounded by `commandTimeout`) and reads
 * the circuit breaker; a down status makes terminus answer 503.
 */
@Injectable()
export class CacheHealthIndicator {
  constructor(private readonly stack: CacheStack) {}

  async check(): Promise<CacheHealth> {
    const l2 = this.stack.l2;
    const bus = this.stack.telemetry.isBusConnected();
    const busStatus = bus === undefined ? 'absent' : bus ? 'up' : 'down';
    const l1 = this.stack.l1 ? { entries: this.stack.l1.entries, bytes: this.stack.l1.bytes } : undefined;
    if (l2 === undefined) {
      return {
        status: busStatus === 'down' ? 'down' : 'up',
        degraded: busStatus === 'down',
        redis: { status: 'disabled', breaker: 'disabled' },
        postgres: { status: 'disabled', breaker: 'disabled', pending: 0 },
        bus: { status: busStatus },
        l1,
      };
    }
    const coldCheck = this.checkPostgres();
    const redis: CacheHealth['redis'] = { status: 'up', breaker: l2.state, ...(await timedPing(() => l2.ping(), this.stack.options.commandTimeout, 'no PONG')) };
    if (redis.error !== undefined) redis.status = 'down';
    redis.breaker = l2.state;
    if (redis.status === 'up' && redis.breaker !== 'closed') {
      redis.status = 'down';
      redis.error = `circuit breaker ${redis.breaker}: Redis answered but is not used yet`;
    }
    const postgres = await coldCheck;
    const status = redis.status === 'down' || busStatus === 'down' || postgres.status === 'down' ? 'down' : 'up';
    return { status, degraded: status === 'down', redis, postgres, bus: { status: busStatus }, l1 };
  }

  private async checkPostgres(): Promise<CacheHealth['postgres']> {
    const chain = this.stack.chain;
    if (chain === undefined) return { status: 'disabled', breaker: 'disabled', pending: 0 };
    const limit = this.stack.options.postgres!.statementTimeout;
    const health: CacheHealth['postgres'] = {
      status: 'up',
      breaker: chain.guard.state,
      pending: chain.guard.pending,
      ...(await timedPing(() => chain.cold.store.ping(), limit, 'no answer')),
    };
    if (health.error !== undefined) health.status = 'down';
    health.breaker = chain.guard.state;
    if (health.status === 'up' && health.breaker !== 'closed') {
      health.status = 'down';
      health.error = `circuit breaker ${health.breaker}: PostgreSQL answered but the cold tier is not used yet`;
    }
    return health;
  }

  /**
   * `check()` in the shape `@nestjs/terminus` reads (`HealthCheckService.check([() => indicator.isHealthy('cache')])`);
   * with `{ whenDegraded: 'up' }`, a cache whose Redis, PostgreSQL or bus is down still passes (see `CacheHealthOptions`).
   */
  async isHealthy<Key extends string = 'cache'>(key: Key = 'cache' as Key, options: CacheHealthOptions = {}): Promise<CacheHealthIndicatorResult<Key>> {
    const whenDegraded = options.whenDegraded ?? 'down';
    if (whenDegraded !== 'down' && whenDegraded !== 'up') {
      throw new InvalidArgumentError(`isHealthy: whenDegraded must be 'down' or 'up', got ${JSON.stringify(whenDegraded)}`);
    }
    const { status, ...details } = await this.check();
    const result = {} as CacheHealthIndicatorResult<Key>;
    result[key] = { status: details.degraded && whenDegraded === 'up' ? 'up' : status, ...details };
    return result;
  }
}

/** One round trip bounded by `limitMs`: its time, or why it failed. */
async function timedPing(ping: () => Promise<void>, limitMs: number, silence: string): Promise<{ pingMs?: number; error?: string }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${silence} within ${limitMs} ms`)), limitMs);
      }),
    ]);
    return { pingMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch (error) {
    return { error: describeError(error) };
  } finally {
    clearTimeout(timer);
  }
}
