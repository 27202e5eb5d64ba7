import { type BeforeApplicationShutdown, Inject, Injectable, type LoggerService, type OnModuleInit } from '@nestjs/common';
import type { EntryCodec } from './codec/entry.codec';
import { EntryCodecs } from './codec/entry-codecs';
import { type CompressionCodec, lz4Binding } from './codec/compression';
import { type SelectedStores, THIRTY_DAYS, storeFallbacks } from './cache.adapters';
import { CACHE_CLOCK } from './cache.constants';
import type { ResolvedCacheOptions, ResolvedNamedCache } from './cache.options';
import { CACHE_LOGGER, L1_TIER, RESOLVED_CACHE_OPTIONS, STORE_ADAPTERS } from './cache.providers';
import { StrataError } from './core/errors';
import { TieredCache } from './engine/tiered-cache';
import { randomUUID } from 'node:crypto';
import { InvalidationBus } from './invalidation/bus';
import { L1Coherence } from './invalidation/coherence';
import { InvalidationTimes } from './invalidation/invalidation-times';
import { CacheAdvisor, type L1Capacity } from './observability/advice';
import { PrometheusExporter } from './observability/prometheus';
import type { CacheStats } from './observability/stats';
import { snapshotStats } from './observability/stats-snapshot';
import { CacheTelemetry } from './observability/telemetry';
import { DistributedLock, LOCK_FAILED } from './resilience/distributed-lock';
import { ScheduledInvalidations } from './invalidation/schedule';
import { TagPurge, indexWrites } from './invalidation/tag-purge';
import type { StoreAdapters } from './ports/store-adapters';
import type { ChainedAdapters } from './tiers/chained.adapters';
import { L2Facade } from './tiers/l2.facade';
import type { MemoryTier } from './tiers/memory.tier';
import { RemoteTier } from './tiers/remote.tier';
import { TenantContext } from './tenancy/tenant-context';

const MAX_NAMESPACES_NOTED = 10_000;
type SideStore = 'times' | 'schedule' | 'leases' | 'registry' | 'vectorLogs';

/**
 * Everything one `CacheModule` owns: the resolved options, the tiers, the Redis connection and its
 * breaker, the invalidation times and the engine. `CacheService` views share it. It connects on module
 * init and closes what it opened on shutdown.
 */
@Injectable()
export class CacheStack implements OnModuleInit, BeforeApplicationShutdown {
  readonly engine: TieredCache;
  /** Judges the counters against the `advice` thresholds; undefined with `advice: false`. */
  readonly advisor: CacheAdvisor | undefined;
  readonly l1: MemoryTier | undefined;
  readonly l2: L2Facade | undefined;
  /** This instance on the invalidation bus: it ignores its own messages. */
  readonly instanceId = randomUUID();
  readonly coherence: L1Coherence;
  readonly bus: InvalidationBus | undefined;
  readonly schedule: ScheduledInvalidations;
  /** The adapters of the remote store and its side stores; undefined without one (memory only). */
  private readonly stores: StoreAdapters | undefined;
  /** Redis with the PostgreSQL cold tier under it, when a named cache lists 'postgres' in its tiers. */
  readonly chain: ChainedAdapters | undefined;
  private readonly exporter: PrometheusExporter | undefined;
  private closed = false;
  /** Namespace ids of the views in use (bounded): what an overflow of pending deletes invalidates. */
  private readonly namespaceIds = new Set<string>();

  constructor(
    @Inject(RESOLVED_CACHE_OPTIONS) readonly options: ResolvedCacheOptions,
    @Inject(CACHE_LOGGER) readonly logger: LoggerService,
    /** Counters, events, tracing and the hooks of the bus and the AI cache (see `CacheTelemetry`). */
    readonly telemetry: CacheTelemetry,
    /** The current tenant (AsyncLocalStorage); the injected `CacheService` routes every call by it. */
    readonly tenants: TenantContext,
    private readonly codecs: EntryCodecs,
    @Inject(L1_TIER) l1: MemoryTier | null,
    @Inject(STORE_ADAPTERS) selected: SelectedStores,
    @Inject(CACHE_CLOCK) readonly now: () => number,
  ) {
    this.stores = selected.stores;
    this.chain = selected.chain;
    this.l1 = l1 ?? undefined;
    const defaultCodec = this.codec(options.compressThreshold, options.compression);
    if (this.stores !== undefined) {
      if ([...options.caches.values()].some((cache) => cache.compression === 'lz4')) lz4Binding(); // fails now, with the fix, if its binary is missing
      const { times: timesStore, tagIndex } = this.stores;
      const tier = new RemoteTier(this.stores.remote, {
        codec: defaultCodec,
        now,
        onCorrupt: (key, error) => {
          const cache = telemetry.nameOfKey(key);
          telemetry.counters(cache).corrupt += 1;
          if (telemetry.events.listening !== 0) telemetry.events.emit('error', { cache, tier: 'l2', error, key });
        },
      });
      this.l2 = new L2Facade(tier, {
        strict: options.strict,
        failureThreshold: options.failureThreshold,
        probeInterval: options.probeInterval,
        pendingDeleteLimit: 10_000,
        logger: this.logger,
        onError: (error, key) => {
          const cache = telemetry.nameOfKey(key);
          telemetry.counters(cache).l2Errors += 1;
          if (telemetry.events.listening !== 0) telemetry.events.emit('error', { cache, tier: 'l2', error, key });
        },
        onStateChange: (state, reason) => {
          if (state === 'open') telemetry.events.emit('circuit-open', { state, reason });
          else if (state === 'closed') telemetry.events.emit('circuit-close', { state, reason });
        },
        deadline: this.stores.deadline,
        ordered: this.stores.ordered === true,
        refusal: this.stores.refusal,
        writeTimes: timesStore && ((pending) => timesStore.writeMax(pending, THIRTY_DAYS)),
        indexWrites: tagIndex && options.purge ? (writes) => indexWrites(tagIndex, writes, now()) : undefined,
        // Deletes and invalidations replayed after an outage are announced like any other.
        replayed: (keys, replayed) => void this.coherence.announce({ k: keys, t: [...replayed] }),
        // More deletes pending than could be listed: every namespace in use is invalidated (O(1) each) instead.
        overflow: () => {
          const at = now();
          const invalidated = new Map<string, number>();
          for (const id of this.namespaceIds) {
            times.apply(id, at);
            invalidated.set(id, at);
          }
          return invalidated;
        },
      });
    }
    const l2 = this.l2;
    const stores = this.stores;
    const lockStore = stores?.lock;
    const lock =
      l2 && lockStore && options.lock
        ? new DistributedLock(lockStore, options.lock, (op) => l2.call(op, LOCK_FAILED).catch(() => LOCK_FAILED))
        : undefined;
    const times = new InvalidationTimes(this.shared('times'));
    this.coherence = new L1Coherence(this.l1, this.l2, times, telemetry);
    if (this.l2 && options.bus !== false && stores?.bus) {
      this.bus = new InvalidationBus(
        stores.bus,
        { instanceId: this.instanceId, ...options.bus, logger: this.logger },
        this.coherence,
      );
      // Once Redis answers again after an outage, the bus has this long to catch up before L1 is bypassed.
      this.coherence.attach(this.bus, options.bus.pingInterval + options.bus.pingTimeout + options.connectTimeout, options.bus.pingTimeout);
      const bus = this.bus;
      telemetry.setBusConnected(() => bus.state === 'up');
    }
    // A shared store with no bus (a Keyv store): nothing tells this instance of invalidations made by
    // others, so their times are read from the store before an L2 entry is trusted, every time.
    if (this.l2 && this.bus === undefined && stores?.remote.capabilities.shared) times.trusted = false;
    if (options.redis === undefined && stores !== undefined) {
      const missing = storeFallbacks(stores, this.l1 !== undefined, this.bus !== undefined);
      if (missing.length > 0) this.logger.log(`L2 store '${stores.remote.name}' lacks some parts, and the cache does without: ${missing.join('; ')}`);
    }
    this.engine = new TieredCache({
      l1: this.l1,
      l2: this.l2,
      times,
      telemetry,
      coherence: this.coherence,
      logger: this.logger,
      maxValueBytes: options.maxValueBytes,
      strict: options.strict,
      now,
      lock,
      predictive: options.warming === false ? undefined : options.warming,
      scanner: stores?.scanner,
      scanCount: options.scanCount,
      scanPause: options.scanPause,
      purge:
        this.l2 && stores?.tagIndex && options.purge
          ? new TagPurge(this.l2, stores.tagIndex, { count: options.scanCount, pause: options.scanPause, now, logger: this.logger })
          : undefined,
    });
    const coldNames: ReadonlySet<string> = new Set([...options.caches.values()].filter((p) => p.usePostgres).map((p) => p.name));
    this.exporter = PrometheusExporter.create(
      {
        telemetry,
        l1: () => this.l1Capacity(),
        breaker: () => this.l2?.state ?? 'disabled',
        cold: () => (this.chain === undefined ? undefined : { caches: coldNames, breaker: this.chain.guard.state }),
      },
      options.metrics,
    );
    if (options.advice !== false) this.advisor = new CacheAdvisor(telemetry, () => this.l1Capacity(), options.advice, this.logger);
    this.schedule = new ScheduledInvalidations(
      this.shared('schedule'),
      { pollInterval: options.pollInterval, batch: 100, logger: this.logger },
      now,
      (target, when) => this.engine.applyScheduled(target, when),
    );
  }

  /**
   * A side store of the remote store's adapters with the L2 facade its calls go through (breaker,
   * deadline), or undefined when there is no remote store or it lacks that side store.
   */
  shared<K extends SideStore>(name: K): { l2: L2Facade; store: NonNullable<StoreAdapters[K]> } | undefined {
    const store = this.stores?.[name];
    return this.l2 === undefined || store === undefined || store === null ? undefined : { l2: this.l2, store: store as NonNullable<StoreAdapters[K]> };
  }

  /** Called by every view: its namespace id is invalidated whole if deletes made during an outage overflow. */
  noteNamespace(id: string): void {
    if (this.namespaceIds.size < MAX_NAMESPACES_NOTED) this.namespaceIds.add(id);
  }

  /** L1's fill and bounds, or undefined without L1. */
  l1Capacity(): L1Capacity | undefined {
    if (this.l1 === undefined || this.options.memory === false) return undefined;
    return { entries: this.l1.entries, bytes: this.l1.bytes, maxEntries: this.options.memory.maxEntries, maxBytes: this.options.memory.maxBytes };
  }

  /** The JSON snapshot `CacheService.stats()` returns: totals, per cache name, latency percentiles, advice. */
  stats(): CacheStats {
    return snapshotStats(this.telemetry, {
      l1: this.l1Capacity(),
      l2: { state: this.l2?.state ?? 'disabled', pending: this.l2?.pending ?? 0 },
      l3: { state: this.chain?.guard.state ?? 'disabled', pending: this.chain?.guard.pending ?? 0, queued: this.chain?.remote.behind?.size ?? 0 },
      bus: { state: this.coherence.busState, unsent: this.bus?.pendingAnnouncements ?? 0, delay: this.coherence.delayPercentiles() },
      advice: this.advisor?.lifetime() ?? [],
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

  /** One codec per compression threshold and codec in use: named caches may compress differently. */
  codec(threshold: number | false, compression: CompressionCodec): EntryCodec {
    return this.codecs.get(threshold, compression);
  }

  /** Waits (at most `connectTimeout`) for Redis, so the first requests can use it; never fails startup. */
  async onModuleInit(): Promise<void> {
    const advice = this.options.advice;
    if (this.advisor && advice !== false && advice.intervalMs !== false) this.advisor.start(advice.intervalMs);
    this.schedule.start();
    this.engine.warmer?.start();
    if (this.l2 === undefined) return;
    this.bus?.start();
    const [{ connected, cause }, , coldConnected] = await Promise.all([
      this.l2.connect(this.options.connectTimeout),
      // Until the bus is subscribed, L1 is bypassed: waiting for it lets the first requests use L1.
      this.bus?.waitUntilUp(this.options.connectTimeout),
      this.chain?.connect(this.options.postgres!.connectTimeout),
    ]);
    if (!connected) {
      const at = this.l2.tier.store.address;
      this.logger.warn(`Redis not reachable at startup${at ? ` at ${at}` : ''}: ${cause}; starting without L2, it will be used once it answers`);
    }
    if (coldConnected === false) {
      this.logger.warn(`PostgreSQL not reachable (or its schema not ready) at startup: starting without the cold tier; it will be used once it answers`);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.advisor?.stop();
    this.exporter?.close();
    this.schedule.stop();
    this.engine.dispose();
    await this.bus?.close();
    this.coherence.detach();
    this.l2?.dispose();
    await this.l1?.close();
    await this.stores?.close();
  }
}
