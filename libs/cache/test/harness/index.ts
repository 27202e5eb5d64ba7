import type { Redis, RedisOptions } from 'ioredis';
import { type PostgresProcess, type StartPostgresOptions, startPostgres } from './postgres-server';
import { type RedisClusterProcess, type StartClusterOptions, startCluster } from './redis-cluster';
import { RedisProcess, StartRedisOptions, startRedis } from './redis-server';

export {
  LOOPBACK,
  RedisStartError,
  closeClient,
  findExecutable,
  getFreePort,
  rawCommand,
  replyText,
  replyValue,
  startRedis,
} from './redis-server';
export type { RawReply, ReplyValue, RedisConfig, RedisConfigValue, RedisProcess, StartRedisOptions } from './redis-server';
export { startCluster } from './redis-cluster';
export type { ClusterRole, RedisClusterNode, RedisClusterProcess, StartClusterOptions } from './redis-cluster';
export { startSentinel } from './redis-sentinel';
export type { RedisSentinelProcess, StartSentinelOptions } from './redis-sentinel';
export { WaitForTimeoutError, waitFor, waitForValue } from './wait-for';
export type { WaitForOptions } from './wait-for';

/** What {@link useRedis} returns: read its properties inside tests and hooks, not at describe time. */
export interface RedisHandle {
  /** The running server; throws if read before `beforeAll` ran. */
  readonly process: RedisProcess;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** A tracked ioredis client to the server, disconnected in `afterAll`. */
  client(opts?: RedisOptions): Redis;
}

/** How long `beforeAll`/`afterAll` may take (starting is usually well under a second). */
const HOOK_TIMEOUT_MS = 120_000;

/**
 * Starts one Redis server for the enclosing `describe` (or file) in `beforeAll` and stops it in
 * `afterAll`.
 *
 * ```ts
 * const redis = useRedis();
 * it('works', async () => {
 *   const client = redis.client();
 *   await client.set('k', 'v');
 * });
 * ```
 */
export function useRedis(options?: StartRedisOptions): RedisHandle {
  let server: RedisProcess | undefined;
  const current = (): RedisProcess => {
    if (server === undefined) {
      throw new Error('useRedis(): the server is only available inside tests and hooks (after beforeAll)');
    }
    return server;
  };

  beforeAll(async () => {
    server = await startRedis(options);
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    const running = server;
    server = undefined;
    await running?.stop();
  }, HOOK_TIMEOUT_MS);

  return {
    get process() {
      return current();
    },
    get host() {
      return current().host;
    },
    get port() {
      return current().port;
    },
    get url() {
      return current().url;
    },
    client(opts?: RedisOptions) {
      return current().client(opts);
    },
  };
}

/** What {@link useCluster} returns: read it inside tests and hooks, not at describe time. */
export interface RedisClusterHandle {
  /** The running cluster; throws if read before `beforeAll` ran. */
  readonly process: RedisClusterProcess;
}

/** Starts one Redis Cluster for the enclosing `describe` (or file) in `beforeAll` and stops it in `afterAll`. */
export function useCluster(options?: StartClusterOptions): RedisClusterHandle {
  let cluster: RedisClusterProcess | undefined;
  beforeAll(async () => {
    cluster = await startCluster(options);
  }, 180_000);
  afterAll(async () => {
    const running = cluster;
    cluster = undefined;
    await running?.stop();
  }, HOOK_TIMEOUT_MS);
  return {
    get process() {
      if (cluster === undefined) throw new Error('useCluster(): the cluster is only available inside tests and hooks (after beforeAll)');
      return cluster;
    },
  };
}

export { findPostgresBin, startPostgres } from './postgres-server';
export type { PostgresProcess, StartPostgresOptions } from './postgres-server';

/** What {@link usePostgres} returns: read its properties inside tests and hooks, not at describe time. */
export interface PostgresHandle {
  readonly process: PostgresProcess;
  readonly url: string;
  readonly port: number;
}

/** Starts one PostgreSQL server for the enclosing `describe` (or file) in `beforeAll`; `close()`s it in `afterAll`. */
export function usePostgres(options?: StartPostgresOptions): PostgresHandle {
  let server: PostgresProcess | undefined;
  const current = (): PostgresProcess => {
    if (server === undefined) throw new Error('usePostgres(): the server is only available inside tests and hooks (after beforeAll)');
    return server;
  };
  beforeAll(async () => {
    server = await startPostgres(options);
  }, 180_000);
  afterAll(async () => {
    const running = server;
    server = undefined;
    await running?.close();
  }, HOOK_TIMEOUT_MS);
  return {
    get process() {
      return current();
    },
    get url() {
      return current().url;
    },
    get port() {
      return current().port;
    },
  };
}
