import type { RegistryStore } from '../ports/registry-store';
import type { RedisClient } from './redis.types';

/** Registries as a Redis set and a Redis hash. */
export class RedisRegistryStore implements RegistryStore {
  constructor(private readonly client: RedisClient) {}

  async addMember(setKey: string, member: string): Promise<void> {
    await this.client.sadd(setKey, member);
  }

  members(setKey: string): Promise<string[]> {
    return this.client.smembers(setKey);
  }

  async putField(mapKey: string, field: string, value: string, ttlMs: number): Promise<void> {
    await Promise.all([this.client.hset(mapKey, field, value), this.client.pexpire(mapKey, ttlMs)]);
  }

  fields(mapKey: string): Promise<Record<string, string>> {
    return this.client.hgetall(mapKey);
  }

  async deleteFields(mapKey: string, fields: readonly string[]): Promise<void> {
    if (fields.length > 0) await this.client.hdel(mapKey, ...fields);
  }
}
