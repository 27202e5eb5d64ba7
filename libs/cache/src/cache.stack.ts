import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type LoggerService,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { EntryCodec } from './codec/entry.codec';
import { CACHE_CLOCK } from './cache.constants';
import { CACHE_MODULE_OPTIONS } from './cache.module-definition';
import { type CacheModuleOptions, type ResolvedCacheOptions, type ResolvedNamedCache, resolveOptions } from './cache.options';
import { StrataError } from './core/errors';
import { segment, tenantOfKey } from './core/keys';
import { TieredCache } from './core/tiered-cache';
import { InvalidationTimes } from './invalidation/invalidation-times';
import { CacheCounters } from './observability/stats';
import { L2Facade } from './tiers/l2.facade';
import { MemoryTier } from './tiers/memory.tier';
import { type OwnedClient, createRedisClient } from './tiers/redis.connection';
import { RedisTier } from './tiers/redis.tier';
import { TenantContext } from './tenancy/tenant-context';
import { TenantQuota } from './tenancy/tenant-quota';

const THIRTY_DAYS = 30 * 24 * 3600 * 1000;

/**
 * Everything one `CacheModule` owns: the resolved options, the tiers, the Redis connection and its
 * breaker, the invalidation times and the engine. `CacheService` views share it. It connects on module
 * init and closes what it opened on shutdown.
 */
@Injectable()
export class CacheStack implements OnModuleInit, BeforeApplicationShutdown {
  readonly options: ResolvedCacheOptions;
  readonly engine: TieredCache;
  readonly counters = new CacheCounters();
  readonly l1: MemoryTier | undefined;
  readonly l2: L2Facade | undefined;
  readonly logger: LoggerService;
  readonly now: () => number;
  /** The current tenant (AsyncLocalStorage); the injected `CacheService` routes every call by it. */
  readonly tenants: TenantContext;
  private readonly connection: OwnedClient | undefined;
  private readonly codecs = new Map<number | false, EntryCodec>();
  private closed = false;

  constructor(
    @Inject(CACHE_MODULE_OPTIONS) input: CacheModuleOptions,
    @Optional() @Inject(CACHE_CLOCK) clock?: () => number,
  ) {
    const now = clock ?? Date.now;
    this.now = now;
    this.options = resolveOptions(input);
    const options = this.options;
    this.logger = options.logger ?? new Logger('StrataCache');
    this.tenants = new TenantContext(options.tenancy.resolve);
    const quota = options.tenancy.maxL1Bytes;
    const defaultCodec = this.codec(options.compressThreshold);
    if (options.memory !== false) {
      this.l1 = new MemoryTier({
        maxEntries: options.memory.maxEntries,
        maxBytes: options.memory.maxBytes,
        parse: (serialized) => defaultCodec.parseValue(serialized.text, serialized.tagged),
        onEvict: () => void (this.counters.evictions += 1),
        quota: quota === undefined ? undefined : new TenantQuota(quota, tenantOfKey),
      });
    }
    if (options.redis !== undefined) {
      this.connection = createRedisClient(options.redis, {
        commandTimeout: options.commandTimeout,
        connectTimeout: options.connectTimeout,
      });
      const tier = new RedisTier(this.connection.client, {
        codec: defaultCodec,
        now,
        onCorrupt: () => void (this.counters.corrupt += 1),
      });
      this.l2 = new L2Facade(tier, {
        strict: options.strict,
        failureThreshold: options.failureThreshold,
        probeInterval: options.probeInterval,
        pendingDeleteLimit: 10_000,
        counters: this.counters,
        logger: this.logger,
      });
    }
    const times = new InvalidationTimes(`${segment(options.prefix)}:__inv:`, this.l2, THIRTY_DAYS);
    this.engine = new TieredCache({
      l1: this.l1,
      l2: this.l2,
      times,
      counters: this.counters,
      logger: this.logger,
      maxValueBytes: options.maxValueBytes,
      strict: options.strict,
      now,
    });
  }

  /** The policy of a named cache; throws a clear error for a name that was not declared. */
  policyOf(name: string): ResolvedNamedCache {
    const policy = this.options.caches.get(name);
    if (policy === undefined) {
      throw new StrataError(
        'E_UNKNOWN_CACHE',
        `unknown cache '${name}': declare it in CacheModule.forRoot({ caches: { '${name}': { ttl: '1h' } } })` +
          ` (with forRootAsync, also list it in cacheNames); known caches: ${[...this.options.caches.keys()].join(', ')}`,
      );
    }
    return policy;
  }

  /** One codec per compression threshold in use: named caches may compress differently. */
  codec(threshold: number | false): EntryCodec {
    let codec = this.codecs.get(threshold);
    if (codec === undefined) {
      codec = new EntryCodec({
        compressThreshold: threshold === false ? Number.POSITIVE_INFINITY : threshold,
        maxInflatedBytes: this.options.maxInflatedBytes,
      });
      this.codecs.set(threshold, codec);
    }
    return codec;
  }

  /** Waits (at most `connectTimeout`) for Redis, so the first requests can use it; never fails startup. */
  async onModuleInit(): Promise<void> {
    if (this.l2 === undefined) return;
    if (!(await this.l2.connect(this.options.connectTimeout))) {
      this.logger.warn(`Redis not reachable at startup: starting without L2; it will be used once it answers`);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.l2?.dispose();
    await this.l1?.close();
    const connection = this.connection;
    if (connection?.owned) {
      // QUIT waits for pending replies; a dead or paused server would never answer it.
      await Promise.race([
        connection.client.quit().catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, this.options.commandTimeout).unref()),
      ]);
      connection.client.disconnect();
    }
  }
}
