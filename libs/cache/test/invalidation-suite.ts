import type Redis from 'ioredis';
import { type RedisHandle, useRedis } from '../../../test/harness';
import { CacheFactory } from './cache-factory';

/** `KEYS` renamed away: any use of it by the invalidation code fails these suites. */
export const WITHOUT_KEYS = { 'rename-command': ['KEYS', '""'] } as const;

export interface InvalidationSuite {
  redis: RedisHandle;
  apps: CacheFactory;
  /** An admin client to the suite's server (created on first use, closed with the server). */
  admin(): Redis;
  /** A fresh key prefix, so tests never see each other's keys or bus messages. */
  prefix(): string;
}

/** What every invalidation spec starts with: its own Redis without KEYS, apps closed after each test. */
export function useInvalidationSuite(label: string): InvalidationSuite {
  const redis = useRedis({ config: WITHOUT_KEYS });
  const apps = new CacheFactory();
  let admin: Redis | undefined;
  let n = 0;
  afterEach(() => apps.closeAll());
  return {
    redis,
    apps,
    admin: () => (admin ??= redis.client()),
    prefix: () => `${label}${++n}`,
  };
}
