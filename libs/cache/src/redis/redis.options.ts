import { describe } from '../core/durations';
import { InvalidOptionError } from '../core/errors';
import { checkFailoverSafety } from './redis.failover';
import type { RedisConnectionOptions } from './redis.types';

/** The `redis` option checked at startup: a URL, or an options object the failover checks accept. */
export function resolveRedis(redis: RedisConnectionOptions | undefined): RedisConnectionOptions | undefined {
  if (redis === undefined || redis === null) return undefined;
  if (typeof redis === 'string') {
    if (!/^rediss?:\/\//.test(redis)) {
      throw new InvalidOptionError(`redis must be a URL like 'redis://127.0.0.1:6379' or an options object; got ${describe(redis)}`);
    }
    return redis;
  }
  if (typeof redis !== 'object') {
    throw new InvalidOptionError(
      `redis must be a URL, { url }, ioredis options, { sentinels, name }, { cluster: [...] } or { client }; got ${describe(redis)}`,
    );
  }
  if ('url' in redis && (typeof redis.url !== 'string' || !/^rediss?:\/\//.test(redis.url))) {
    throw new InvalidOptionError(`redis.url must be a URL like 'redis://127.0.0.1:6379'; got ${describe(redis.url)}`);
  }
  if ('sentinels' in redis && (!Array.isArray(redis.sentinels) || redis.sentinels.length === 0 || typeof redis.name !== 'string')) {
    throw new InvalidOptionError(`redis with sentinels needs { sentinels: [{ host, port }, ...], name: 'mymaster' }`);
  }
  if ('cluster' in redis && (!Array.isArray(redis.cluster) || redis.cluster.length === 0)) {
    throw new InvalidOptionError(`redis.cluster must list at least one node, e.g. [{ host: '127.0.0.1', port: 7000 }]`);
  }
  checkFailoverSafety(redis);
  checkNoKeyPrefix(redis);
  return redis;
}

/**
 * ioredis's `keyPrefix` is added to the keys of commands, but not to SCAN patterns nor to the keys a Lua
 * script builds, so pattern invalidation would delete nothing and leave stale values: refused.
 */
function checkNoKeyPrefix(redis: object): void {
  const options = (x: unknown): Record<string, unknown> | undefined => (typeof x === 'object' && x !== null ? (x as Record<string, unknown>) : undefined);
  const r = redis as Record<string, unknown>;
  const client = options(r.client);
  const candidates = [r, options(r.options), options(options(r.options)?.redisOptions), options(client?.options), options(options(client?.options)?.redisOptions)];
  const keyPrefix = candidates.map((c) => c?.keyPrefix).find((p) => typeof p === 'string' && p !== '');
  if (keyPrefix === undefined) return;
  const fix =
    client !== undefined
      ? `pass a client without it (e.g. { client: client.duplicate({ keyPrefix: '' }) })`
      : `remove keyPrefix from the redis options`;
  throw new InvalidOptionError(
    `the ioredis keyPrefix ${JSON.stringify(keyPrefix)} is not supported: SCAN patterns and scripts do not see it, so invalidatePattern ` +
      `would delete nothing; ${fix} and set CacheModule.forRoot({ prefix: ${JSON.stringify(String(keyPrefix).replace(/:$/, ''))} }) ` +
      `instead (every key the cache writes starts with '<prefix>:')`,
  );
}
