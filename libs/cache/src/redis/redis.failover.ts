import type { ClusterOptions, RedisOptions } from 'ioredis';
import { toMs } from '../core/durations';
import { InvalidOptionError } from '../core/errors';
import type { IoRedisConnection, RedisConnectionOptions } from './redis.types';

/** Redis's own default `cluster-node-timeout`. */
export const DEFAULT_CLUSTER_NODE_TIMEOUT = 15_000;
const RETRY_DELAY_ON_FAILOVER = 100;

/**
 * Cluster client settings that ride out a failover. While a master is down, ioredis retries a command
 * every `retryDelayOnFailover` (connection closed) or `retryDelayOnClusterDown` (CLUSTERDOWN) ms, and
 * gives up after `maxRedirections` tries. A replica takes over only after `cluster-node-timeout` plus
 * an election, so the retries must cover twice the node timeout, or writes sent during the failover
 * are dropped instead of landing on the new master. Callers never wait that long: the L2 facade stops
 * waiting after its deadline and keeps the written keys in doubt until the command settles.
 */
export function clusterDefaults(nodeTimeout: number): ClusterOptions {
  return {
    retryDelayOnFailover: RETRY_DELAY_ON_FAILOVER,
    retryDelayOnClusterDown: RETRY_DELAY_ON_FAILOVER,
    retryDelayOnTryAgain: RETRY_DELAY_ON_FAILOVER,
    maxRedirections: Math.max(16, Math.ceil((2 * nodeTimeout) / RETRY_DELAY_ON_FAILOVER)),
  };
}

/** `{ cluster: [...], nodeTimeout }`: the node timeout the cluster runs with (ms or a string). */
export function clusterNodeTimeout(options: RedisConnectionOptions): number {
  const connection = options as IoRedisConnection;
  if (typeof connection !== 'object' || !('cluster' in connection)) return DEFAULT_CLUSTER_NODE_TIMEOUT;
  const raw = connection.nodeTimeout;
  return raw === undefined ? DEFAULT_CLUSTER_NODE_TIMEOUT : toMs(raw, 'redis.nodeTimeout');
}

/**
 * Rejects client settings that cannot survive a failover or an outage without serving what was
 * deleted or holding unbounded memory. Runs at startup, with a message that says how to fix each.
 */
export function checkFailoverSafety(options: RedisConnectionOptions): void {
  const connection = options as IoRedisConnection;
  if (typeof connection !== 'object' || 'client' in connection) return;
  if ('cluster' in connection) {
    const nodeTimeout = clusterNodeTimeout(connection);
    const options = { ...clusterDefaults(nodeTimeout), ...connection.options };
    checkClient(connection.options?.redisOptions ?? {}, 'redis.options.redisOptions');
    if (connection.options?.enableOfflineQueue === true) throw offlineQueue('redis.options');
    if (connection.options?.enableAutoPipelining === true) {
      throw new InvalidOptionError(
        `redis.options.enableAutoPipelining must stay off on a Cluster: ioredis then batches Lua scripts by their sha ` +
          `instead of their key ("All keys in the pipeline should belong to the same slots allocation group", ioredis #2109) ` +
          `and fails whole batches on a MOVED while a master fails over (#2075); remove it`,
      );
    }
    if (options.scaleReads !== undefined && options.scaleReads !== 'master') {
      throw new InvalidOptionError(
        `redis.options.scaleReads must be 'master' (or left out): replicas lag behind their master, so a read there can ` +
          `return a value that was just deleted or replaced; remove scaleReads`,
      );
    }
    const redirections = options.maxRedirections ?? 16;
    for (const name of ['retryDelayOnFailover', 'retryDelayOnClusterDown'] as const) {
      const delay = options[name] ?? 100;
      if (!(delay > 0) || delay * redirections < nodeTimeout) {
        const needed = Math.ceil((2 * nodeTimeout) / Math.max(delay, 1));
        throw new InvalidOptionError(
          `redis.options.${name} (${delay} ms) × maxRedirections (${redirections}) = ${delay * redirections} ms is shorter than ` +
            `the cluster node timeout (${nodeTimeout} ms, redis.nodeTimeout): a write sent while a master fails over would be ` +
            `dropped before its replica takes over. Set maxRedirections to at least ${needed} (or leave both out to get ` +
            `${name} ${RETRY_DELAY_ON_FAILOVER} and maxRedirections sized for the node timeout), and set redis.nodeTimeout ` +
            `to your cluster-node-timeout`,
        );
      }
    }
    return;
  }
  if ('url' in connection) checkClient(connection.options ?? {}, 'redis.options');
  else checkClient(connection as RedisOptions, 'redis');
}

function checkClient(options: RedisOptions, at: string): void {
  if (options.enableOfflineQueue === true) throw offlineQueue(at);
  const retries = options.maxRetriesPerRequest;
  if (options.autoResendUnfulfilledCommands === true || retries === null || (retries ?? 0) > 0) {
    throw new InvalidOptionError(
      `${at}: autoResendUnfulfilledCommands and maxRetriesPerRequest must stay off (false, 0): a write the cache ` +
        `already reported as failed would be sent again after a reconnect and could land after a later delete, ` +
        `bringing a deleted value back (ioredis #2130); remove them`,
    );
  }
}

function offlineQueue(at: string): InvalidOptionError {
  return new InvalidOptionError(
    `${at}.enableOfflineQueue must stay false: while Redis is unreachable every command would be queued in memory ` +
      `(without bound) and replayed late; the cache serves from L1 and factories instead; remove it`,
  );
}
