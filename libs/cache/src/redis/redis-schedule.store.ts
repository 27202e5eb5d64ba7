import type { ScheduleStore } from '../ports/schedule-store';
import type { RedisClient } from './redis.types';

/** Scheduled invalidations in one sorted set (`{prefix}:__sched`), scored by their time. */
export class RedisScheduleStore implements ScheduleStore {
  constructor(
    private readonly client: RedisClient,
    private readonly key: string,
  ) {}

  async add(member: string, when: number): Promise<void> {
    await this.client.zadd(this.key, when, member);
  }

  async due(now: number, limit: number): Promise<Array<readonly [string, number]>> {
    const raw = await this.client.zrangebyscore(this.key, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit);
    const due: Array<readonly [string, number]> = [];
    for (let i = 0; i < raw.length; i += 2) due.push([raw[i], Number(raw[i + 1])]);
    return due;
  }

  async remove(member: string): Promise<void> {
    await this.client.zrem(this.key, member);
  }
}
