import type { RedisOptions } from 'ioredis';
import * as zlib from 'node:zlib';
import { InvalidOptionError } from '../core/errors';
import { loadPeer } from '../core/optional-peer';
import { clusterDefaults, clusterNodeTimeout } from './redis.failover';
import { type IoRedisConnection, type RedisClient, type RedisConnectionOptions, isCluster } from './redis.types';

export type { RedisClient, RedisConnectionOptions } from './redis.types';
export { isCluster } from './redis.types';

export interface ConnectionSettings {
  commandTimeout: number;
  connectTimeout: number;
}

/**
 * The settings the cache needs from a client, whatever the caller passed:
 * - `commandTimeout`: a paused Redis makes a GET wait ~3 s with ioredis defaults; ours fails it in time.
 * - `enableOfflineQueue: false`: while disconnected, commands fail at once instead of piling up in memory.
 * - `autoResendUnfulfilledCommands: false` and `maxRetriesPerRequest: 0`: a write we already reported as
 *   failed must not be replayed after a reconnect, where it could land after a later delete
 *   (ioredis #2130: a SET rejected as timed out was still applied once Redis came back).
 * - reconnects go on forever with a capped, jittered backoff, so Redis coming back is always noticed.
 */
function clientDefaults(settings: ConnectionSettings): RedisOptions {
  return {
    commandTimeout: settings.commandTimeout,
    connectTimeout: settings.connectTimeout,
    // On disconnect ioredis arms a timer (2 s by default, not unref'd) that destroys a socket that did not
    // close; for a socket already closed by a dead server it just holds the process up that long at exit.
    disconnectTimeout: settings.commandTimeout,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    // Off: ioredis keeps one auto-pipeline in flight per connection, so a command waits for the batch
    // before it, which costs a tick one at a time and, measured on this box, throughput at 64 in flight
    // too (raw GET: 114 k ops/s plain, 100 k auto-pipelined); a command then also starts its
    // commandTimeout when it is issued, which lets the facade skip its own deadline on reads.
    enableAutoPipelining: false,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000) + Math.floor(Math.random() * 100),
  };
}

export interface OwnedClient {
  client: RedisClient;
  /** False for a client the caller passed in: we never close what we did not open. */
  owned: boolean;
}

export function createRedisClient(options: RedisConnectionOptions, settings: ConnectionSettings): OwnedClient {
  const connection = options as IoRedisConnection;
  // Every entry written to Redis carries a CRC-32 (zlib.crc32, Node 20.15+): without it each write would
  // fail and degrade silently, so say so at startup instead.
  if (typeof (zlib as { crc32?: unknown }).crc32 !== 'function') {
    throw new InvalidOptionError(`the 'redis' option needs Node 20.15 or later (zlib.crc32 checksums each Redis entry); this is Node ${process.version}`);
  }
  if (typeof connection === 'object' && 'client' in connection) return { client: connection.client, owned: false };
  // ioredis is an optional peer: loaded here, when a connection is made, never at import.
  const { Redis, Cluster } = loadPeer<typeof import('ioredis')>('ioredis', "the 'redis' option");
  const defaults = clientDefaults(settings);
  if (typeof connection === 'string') return { client: new Redis(connection, defaults), owned: true };
  if ('cluster' in connection) {
    const options = connection.options ?? {};
    return {
      client: new Cluster(connection.cluster, {
        enableOfflineQueue: false,
        // Off on a Cluster: ioredis groups EVALSHA by the script's sha instead of its key (#2109) and fails
        // whole auto-pipelines on a MOVED during a failover (#2075). See checkFailoverSafety.
        enableAutoPipelining: false,
        clusterRetryStrategy: defaults.retryStrategy,
        ...clusterDefaults(clusterNodeTimeout(connection)),
        ...options,
        redisOptions: { ...defaults, ...options.redisOptions },
      }),
      owned: true,
    };
  }
  if ('url' in connection) return { client: new Redis(connection.url, { ...defaults, ...connection.options }), owned: true };
  if ('sentinels' in connection) {
    // Without it, a client stays on the old master after a failover until Sentinel reconfigures it
    // (some 10 s), and the writes it accepts meanwhile are lost; with it, the client reconnects on +switch-master.
    return { client: new Redis({ ...defaults, failoverDetector: true, ...connection }), owned: true };
  }
  return { client: new Redis({ ...defaults, ...connection }), owned: true };
}

/** The database number the client works in (a Cluster has only 0). */
export function databaseOf(client: RedisClient): number {
  return isCluster(client) ? 0 : (client.options.db ?? 0);
}

/** Where the client connects, for log lines: `host:port`, a socket path, the Sentinels and master name, or a Cluster's nodes. */
export function addressOf(client: RedisClient): string {
  if (isCluster(client)) {
    const nodes = (client as unknown as { startupNodes?: Array<string | number | { host?: string; port?: number }> }).startupNodes ?? [];
    return `Cluster ${nodes.map((node) => (typeof node === 'object' ? `${node.host ?? 'localhost'}:${node.port ?? 6379}` : String(node))).join(', ')}`;
  }
  const options = client.options;
  const tls = options.tls ? ' (TLS)' : '';
  if (options.sentinels && options.sentinels.length > 0) {
    const sentinels = options.sentinels.map((s) => `${s.host ?? 'localhost'}:${s.port ?? 26379}`).join(', ');
    return `master '${options.name ?? 'mymaster'}' through Sentinels ${sentinels}${tls}`;
  }
  if (options.path) return `${options.path}${tls}`;
  return `${options.host ?? 'localhost'}:${options.port ?? 6379}${options.db ? ` db ${options.db}` : ''}${tls}`;
}
