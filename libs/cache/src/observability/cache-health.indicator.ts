import { Injectable } from '@nestjs/common';
import { CacheStack } from '../cache.stack';
import type { BreakerState } from '../resilience/circuit-breaker';
import { describeError } from '../resilience/circuit-breaker';

/** The cache's health, from `CacheHealthIndicator.check()`. */
export interface CacheHealth {
  /** `down` when Redis is configured but unreachable (PING failed or the breaker is not closed), or the bus is down. */
  status: 'up' | 'down';
  redis: {
    status: 'up' | 'down' | 'disabled';
    breaker: BreakerState | 'disabled';
    /** Round trip of the PING, when it answered. */
    pingMs?: number;
    error?: string;
  };
  /** `absent` until an invalidation bus registers itself (`CacheTelemetry.setBusConnected`). */
  bus: { status: 'up' | 'down' | 'absent' };
  l1: { entries: number; bytes: number } | undefined;
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
      return { status: busStatus === 'down' ? 'down' : 'up', redis: { status: 'disabled', breaker: 'disabled' }, bus: { status: busStatus }, l1 };
    }
    const redis: CacheHealth['redis'] = { status: 'up', breaker: l2.state };
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        l2.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no PONG within ${this.stack.options.commandTimeout} ms`)), this.stack.options.commandTimeout);
        }),
      ]);
      redis.pingMs = Math.round((performance.now() - started) * 100) / 100;
    } catch (error) {
      redis.status = 'down';
      redis.error = describeError(error);
    } finally {
      clearTimeout(timer);
    }
    redis.breaker = l2.state;
    if (redis.status === 'up' && redis.breaker !== 'closed') {
      redis.status = 'down';
      redis.error = `circuit breaker ${redis.breaker}: Redis answered but is not used yet`;
    }
    const status = redis.status === 'down' || busStatus === 'down' ? 'down' : 'up';
    return { status, redis, bus: { status: busStatus }, l1 };
  }

  /** `check()` in the shape `@nestjs/terminus` reads (`HealthCheckService.check([() => indicator.isHealthy('cache')])`). */
  async isHealthy<Key extends string = 'cache'>(key: Key = 'cache' as Key): Promise<CacheHealthIndicatorResult<Key>> {
    const { status, ...details } = await this.check();
    const result = {} as CacheHealthIndicatorResult<Key>;
    result[key] = { status, ...details };
    return result;
  }
}
