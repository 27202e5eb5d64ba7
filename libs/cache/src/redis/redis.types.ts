import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { Duration } from '../core/durations';

/** How to reach Redis: a URL, ioredis options, Sentinel, Cluster, or a client you already own. */
export type RedisConnectionOptions =
  | string
  | { url: string; options?: RedisOptions }
  | { client: Redis | Cluster }
  | (RedisOptions & { sentinels: Array<{ host: string; port: number }>; name: string })
  /** `nodeTimeout`: the cluster's `cluster-node-timeout` (default 15 s), which failover retries must outlast. */
  | { cluster: ClusterNode[]; options?: ClusterOptions; nodeTimeout?: Duration }
  | RedisOptions;

export type RedisClient = Redis | Cluster;

/** Told by the client itself (ioredis sets `isCluster` on both classes), so no runtime import of ioredis is needed. */
export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster === true;
}
