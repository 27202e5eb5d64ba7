import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { Duration } from '../core/durations';

/**
 * ioredis options (`RedisOptions`, or `ClusterOptions` under `cluster`), handed to ioredis unchanged.
 * Declared as `object` so these types load in an app without ioredis (ioredis is an optional peer);
 * write `{ ... } satisfies RedisOptions` to have ioredis check them.
 */
export type IoRedisOptions = object;

/** An ioredis `Redis` or `Cluster` client you created (structurally, so these types do not need ioredis). */
export interface IoRedisClient {
  readonly isCluster: boolean;
  readonly status: string;
}

/** How to reach Redis: a URL, ioredis options, Sentinel, Cluster, or a client you already own. */
export type RedisConnectionOptions =
  | string
  | { url: string; options?: IoRedisOptions }
  | { client: IoRedisClient }
  | (IoRedisOptions & { sentinels: Array<{ host: string; port: number }>; name: string })
  /** `nodeTimeout`: the cluster's `cluster-node-timeout` (default 15 s), which failover retries must outlast. */
  | { cluster: Array<string | number | { host?: string; port?: number }>; options?: IoRedisOptions; nodeTimeout?: Duration }
  | IoRedisOptions;

/** @internal `RedisConnectionOptions` with ioredis's own types, for the code that hands them to ioredis. */
export type IoRedisConnection =
  | string
  | { url: string; options?: RedisOptions }
  | { client: RedisClient }
  | (RedisOptions & { sentinels: Array<{ host: string; port: number }>; name: string })
  | { cluster: ClusterNode[]; options?: ClusterOptions; nodeTimeout?: Duration }
  | RedisOptions;

/** @internal */
export type RedisClient = Redis | Cluster;

/** @internal Told by the client itself (ioredis sets `isCluster` on both classes), so no runtime import of ioredis is needed. */
export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster === true;
}
