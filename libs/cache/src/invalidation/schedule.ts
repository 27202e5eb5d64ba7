import { randomUUID } from 'node:crypto';
import type { LoggerService } from '@nestjs/common';
import { describeError } from '../resilience/circuit-breaker';
import type { ScheduleStore } from '../ports/schedule-store';
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
  pollInterval: number;
  /** Items applied per poll, at most. */
  batch: number;
  logger: LoggerService;
}

/**
 * Scheduled invalidation (`expireAt`): items wait in the shared `ScheduleStore` (a Redis sorted set)
 * scored by their time, so they survive restarts and every instance sees them. Every instance polls; an item whose time has come is
 * applied (keys deleted, ids invalidated at the scheduled time, the other instances told) and then
 * removed. Two instances may apply the same item: invalidation is idempotent, so that only costs a
 * little work. Precision: the poll interval plus the bus delay. Without Redis the schedule lives in
 * this process.
 */
export class ScheduledInvalidations {
  private readonly local: Array<{ when: number; item: Stored }> = [];
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<number> | undefined;

  private readonly l2: L2Facade | undefined;
  private readonly store: ScheduleStore | undefined;

  constructor(
    shared: { l2: L2Facade; store: ScheduleStore } | undefined,
    private readonly options: ScheduleOptions,
    private readonly now: () => number,
    private readonly apply: (target: ScheduledTarget, when: number) => Promise<void>,
  ) {
    this.l2 = shared?.l2;
    this.store = shared?.store;
  }

  async schedule(target: ScheduledTarget, when: number): Promise<void> {
    const item: Stored = { u: randomUUID() };
    if (target.keys && target.keys.length > 0) item.k = [...target.keys];
    if (target.ids && target.ids.length > 0) item.i = [...target.ids];
    const store = this.store;
    if (this.l2 === undefined || store === undefined) {
      this.local.push({ when, item });
      return;
    }
    await this.l2.guard(() => store.add(JSON.stringify(item), when), undefined);
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
    const store = this.store;
    if (this.l2 === undefined || store === undefined) {
      const due = this.local.filter((entry) => entry.when <= now);
      for (const entry of due) {
        await this.apply(toTarget(entry.item), entry.when);
        this.local.splice(this.local.indexOf(entry), 1);
      }
      return due.length;
    }
    if (!this.l2.available) return 0;
    const due = await this.l2.guard(() => store.due(now, this.options.batch), []);
    let applied = 0;
    for (const [member, when] of due) {
      let item: Stored;
      try {
        item = JSON.parse(member) as Stored;
      } catch {
        await this.l2.guard(() => store.remove(member), 0);
        continue;
      }
      try {
        await this.apply(toTarget(item), when);
      } catch (error) {
        this.options.logger.warn(`scheduled invalidation failed, it will be retried: ${describeError(error)}`);
        continue;
      }
      // Removed only once applied: an instance that dies in between leaves it for the others.
      await this.l2.guard(() => store.remove(member), 0);
      applied += 1;
    }
    return applied;
  }
}

function toTarget(item: Stored): ScheduledTarget {
  return { keys: item.k ?? [], ids: item.i ?? [] };
}
