import type { LoggerService } from '@nestjs/common';
import type { StoreAdapters } from '../ports/store-adapters';
import { RedisBusTransport } from './redis-bus.transport';
import { RedisKeyScanner } from './redis-key.scanner';
import { RedisLeaseStore } from './redis-lease.store';
import { RedisLockStore } from './redis-lock.store';
import { RedisRegistryStore } from './redis-registry.store';
import { RedisScheduleStore } from './redis-schedule.store';
import { RedisTagIndex } from './redis-tag.index';
import { RedisTimesStore } from './redis-times.store';
import { RedisVectorLogStore } from './redis-vector-log.store';
import { type OwnedClient, type RedisConnectionOptions, createRedisClient, databaseOf } from './redis.connection';
import { RedisStore } from './redis.store';
import { redisRefusal } from './redis-refusal';

export interface RedisAdapterSettings {
  commandTimeout: number;
  connectTimeout: number;
  /** The escaped key prefix every key of this cache starts with. */
  prefix: string;
  /** The invalidation bus, or false for none. */
  bus: false | { logSize: number; pingInterval: number; pingTimeout: number };
  logger: LoggerService;
}

/**
 * Every port on one Redis connection (standalone, Sentinel or Cluster): the remote store and the side
 * stores share the client, so a publish is ordered after the write it announces. Closes the client on
 * `close` only when it opened it.
 */
export class RedisAdapters implements StoreAdapters {
  readonly remote: RedisStore;
  readonly times: RedisTimesStore;
  readonly lock: RedisLockStore;
  readonly scanner: RedisKeyScanner;
  readonly tagIndex: RedisTagIndex;
  readonly bus: RedisBusTransport | undefined;
  readonly schedule: RedisScheduleStore;
  readonly leases: RedisLeaseStore;
  readonly registry: RedisRegistryStore;
  readonly vectorLogs: RedisVectorLogStore;
  readonly deadline: number;
  /** One connection, commands sent as they are made (see `tickWrites`); a Cluster spreads them over nodes. */
  readonly ordered: boolean;
  readonly refusal = redisRefusal;
  private readonly connection: OwnedClient;

  constructor(
    options: RedisConnectionOptions,
    private readonly settings: RedisAdapterSettings,
  ) {
    this.connection = createRedisClient(options, { commandTimeout: settings.commandTimeout, connectTimeout: settings.connectTimeout });
    const client = this.connection.client;
    const prefix = settings.prefix;
    // Lock releases are published (under the prefix, naming the database like the bus) so that waiters
    // in other instances get the holder's result as soon as it is written.
    const released = `${prefix}:__lock:db${databaseOf(client)}`;
    this.remote = new RedisStore(client, released);
    this.times = new RedisTimesStore(client, `${prefix}:__inv:`);
    this.lock = new RedisLockStore(client, released);
    this.scanner = new RedisKeyScanner(client);
    this.tagIndex = new RedisTagIndex(client, prefix);
    this.schedule = new RedisScheduleStore(client, `${prefix}:__sched`);
    this.leases = new RedisLeaseStore(client);
    this.registry = new RedisRegistryStore(client);
    this.vectorLogs = new RedisVectorLogStore(client);
    if (settings.bus !== false) {
      // Every key and channel under `<prefix>:` (an ACL user limited to it works). Both log keys share one
      // hash tag: one script reads and writes them, on a Cluster too. Pub/sub ignores database numbers,
      // so the channel names the database: apps on db 3 and db 4 with one prefix stay apart.
      this.bus = new RedisBusTransport(client, {
        channel: `${prefix}:__bus:db${databaseOf(client)}`,
        logKey: `${prefix}:{__bus}:log`,
        epochKey: `${prefix}:{__bus}:epoch`,
        ...settings.bus,
        logger: settings.logger,
      });
    }
    // Callers never wait much past commandTimeout; a Cluster command may need a MOVED redirect, a second round trip.
    this.deadline = this.remote.clustered ? 2 * settings.commandTimeout : settings.commandTimeout;
    this.ordered = !this.remote.clustered;
  }

  async close(): Promise<void> {
    await this.bus?.close();
    this.lock.close();
    const connection = this.connection;
    if (!connection.owned) return;
    // QUIT waits for pending replies; a dead or paused server would never answer it.
    await Promise.race([
      connection.client.quit().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, this.settings.commandTimeout).unref()),
    ]);
    connection.client.disconnect();
  }
}
