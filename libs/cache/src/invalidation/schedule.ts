import { randomUUID } from 'node:crypto';
import type { LoggerService } from '@nestjs/common';
import { describeError } from '../resilience/circuit-breaker';
import type { L2Facade } from '../tiers/l2.facade';

/** What a scheduled invalidation removes: full keys and/or invalidation ids (tags, namespaces). */
export interface ScheduledTarget {
  keys?: readonly string[];
  ids?: readonly string[];
}

interface Stored {
  /** Makes two identical schedules two members of the set. */
  u: string;
  k?: string[];
  i?: string[];
}

export interface ScheduleOptions {
  /** The sorted set: `{prefix}:__sched`. */
  redisKey: string;
  pollInterval: number;
  /** Items applied per poll, at most. */
  batch: number;
  logger: LoggerService;
}

/**
 * Scheduled invalidation (`expireAt`): items wait in a Redis sorted set scored by their time, so they
 * survive restarts and every instance sees them. Every instance polls; an item whose time has come is
 * applied (keys deleted, ids invalidated at the scheduled time, the other instances told) and then
 * removed. Two instances may apply the same item: invalidation is idempotent, so that only costs a
 * little work. Precision: the poll interval plus the bus delay. Without Redis the schedule lives in
 * this process.
 */
export class ScheduledInvalidations {
  private readonly local: Array<{ when: number; item: Stored }> = [];
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<number> | undefined;

  constructor(
    private readonly l2: L2Facade | undefined,
    private readonly options: ScheduleOptions,
    private readonly now: () => number,
    private readonly apply: (target: ScheduledTarget, when: number) => Promise<void>,
  ) {}

  async schedule(target: ScheduledTarget, when: number): Promise<void> {
    const item: Stored = { u: randomUUID() };
    if (target.keys && target.keys.length > 0) item.k = [...target.keys];
    if (target.ids && target.ids.length > 0) item.i = [...target.ids];
    if (this.l2 === undefined) {
      this.local.push({ when, item });
      return;
    }
    const client = this.l2.tier.client;
    await this.l2.guard(() => client.zadd(this.options.redisKey, when, JSON.stringify(item)), undefined);
  }

  /** Applies what is due; resolves with how many items were applied. */
  poll(): Promise<number> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  start(): void {
    if (this.timer) return;
    // Background work never throws, `strict` or not: a failed poll is simply done again next time.
    this.timer = setInterval(() => void this.poll().catch(() => undefined), this.options.pollInterval);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async pollOnce(): Promise<number> {
    const now = this.now();
    if (this.l2 === undefined) {
      const due = this.local.filter((entry) => entry.when <= now);
      for (const entry of due) {
        await this.apply(toTarget(entry.item), entry.when);
        this.local.splice(this.local.indexOf(entry), 1);
      }
      return due.length;
    }
    if (!this.l2.available) return 0;
    const client = this.l2.tier.client;
    const key = this.options.redisKey;
    const raw = await this.l2.guard(() => client.zrangebyscore(key, '-inf', now, 'WITHSCORES', 'LIMIT', 0, this.options.batch), []);
    let applied = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const member = raw[i];
      const when = Number(raw[i + 1]);
      let item: Stored;
      try {
        item = JSON.parse(member) as Stored;
      } catch {
        await this.l2.guard(() => client.zrem(key, member), 0);
        continue;
      }
      try {
        await this.apply(toTarget(item), when);
      } catch (error) {
        this.options.logger.warn(`scheduled invalidation failed, it will be retried: ${describeError(error)}`);
        continue;
      }
      // Removed only once applied: an instance that dies in between leaves it for the others.
      await this.l2.guard(() => client.zrem(key, member), 0);
      applied += 1;
    }
    return applied;
  }
}

function toTarget(item: Stored): ScheduledTarget {
  return { keys: item.k ?? [], ids: item.i ?? [] };
}
