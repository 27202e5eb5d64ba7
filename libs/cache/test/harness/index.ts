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
 * Starts something in `beforeAll` and stops it in `afterAll`; the getter returned throws when read
 * outside tests and hooks (`what` names it in the message).
 */
function useStarted<T>(what: string, start: () => Promise<T>, stop: (running: T) => Promise<void>, startTimeout = HOOK_TIMEOUT_MS): () => T {
  let value: T | undefined;
  beforeAll(async () => {
    value = await start();
  }, startTimeout);
  afterAll(async () => {
    const running = value;
    value = undefined;
    if (running !== undefined) await stop(running);
  }, HOOK_TIMEOUT_MS);
  return () => {
    if (value === undefined) throw new Error(`${what} is only available inside tests and hooks (after beforeAll)`);
    return value;
  };
}

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
  const current = useStarted('useRedis(): the server', () => startRedis(options), (server) => server.stop());
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
  const current = useStarted('useCluster(): the cluster', () => startCluster(options), (cluster) => cluster.stop(), 180_000);
  return {
    get process() {
      return current();
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
  const current = useStarted('usePostgres(): the server', () => startPostgres(options), (server) => server.close(), 180_000);
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
