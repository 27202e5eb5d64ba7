import { RedisAdapters } from '../src/redis/redis.adapters';
import type { RedisConnectionOptions } from '../src/redis/redis.types';
import { registerStoreAdaptersSuite } from '../src/testing';
import { useCluster, useRedis } from './harness';

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

async function redisAdapters(connection: RedisConnectionOptions): Promise<RedisAdapters> {
  const adapters = new RedisAdapters(connection, {
    commandTimeout: 2000,
    connectTimeout: 5000,
    prefix: 'conformance',
    bus: { logSize: 1000, pingInterval: 1000, pingTimeout: 1000 },
    logger: quiet,
  });
  if (!(await adapters.remote.whenReady(10_000))) throw new Error('Redis never became ready');
  return adapters;
}

/** The Redis adapters pass every port's conformance suite, on a standalone server and on a Cluster. */
describe('Redis standalone', () => {
  const redis = useRedis();
  registerStoreAdaptersSuite('redis', { create: () => redisAdapters(redis.url) });
});

describe('Redis Cluster', () => {
  const cluster = useCluster({ masters: 3, replicasPerMaster: 0 });
  registerStoreAdaptersSuite('redis cluster', { create: () => redisAdapters({ cluster: [...cluster.process.startupNodes] }) });
});
