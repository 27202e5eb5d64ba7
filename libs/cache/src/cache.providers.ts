import { Logger, type LoggerService, type Provider } from '@nestjs/common';
import { type SelectedStores, selectStores } from './cache.adapters';
import { CACHE_CLOCK } from './cache.constants';
import { CACHE_MODULE_OPTIONS } from './cache.module-definition';
import { type CacheModuleOptions, type ResolvedCacheOptions, resolveOptions } from './cache.options';
import { EntryCodecs } from './codec/entry-codecs';
import { describeError } from './resilience/circuit-breaker';
import { CacheTelemetry } from './observability/telemetry';
import { TenantContext } from './tenancy/tenant-context';
import { TenantQuota } from './tenancy/tenant-quota';
import { tenantOfKey } from './core/keys';
import { MemoryTier } from './tiers/memory.tier';

/** @internal The module's options, checked and with their defaults (`resolveOptions`). */
export const RESOLVED_CACHE_OPTIONS = Symbol('StrataResolvedCacheOptions');
/** @internal Where the cache logs: the `logger` option, or Nest's `Logger` with context `StrataCache`. */
export const CACHE_LOGGER = Symbol('StrataCacheLogger');
/** @internal L1: the in-process `MemoryTier`, or null with `memory: false`. */
export const L1_TIER = Symbol('StrataL1Tier');
/** @internal The remote store's adapters, chosen once (`selectStores`): Redis, the user's `store`, or none. */
export const STORE_ADAPTERS = Symbol('StrataStoreAdapters');

/**
 * The parts of a `CacheModule` built before the stack, each from what it needs (Nest resolves the order):
 * options → logger → telemetry, tenants → codecs → L1 and the store adapters → `CacheStack`, which builds the engine on them.
 */
export const CACHE_PART_PROVIDERS: Provider[] = [
  { provide: CACHE_CLOCK, useValue: Date.now },
  { provide: RESOLVED_CACHE_OPTIONS, useFactory: (input: CacheModuleOptions) => resolveOptions(input), inject: [CACHE_MODULE_OPTIONS] },
  { provide: CACHE_LOGGER, useFactory: (options: ResolvedCacheOptions) => options.logger ?? new Logger('StrataCache'), inject: [RESOLVED_CACHE_OPTIONS] },
  {
    provide: CacheTelemetry,
    useFactory: (options: ResolvedCacheOptions, logger: LoggerService) =>
      new CacheTelemetry(options.caches.keys(), (error, event) =>
        logger.warn(`a '${event}' event listener threw (${describeError(error)}); the cache call went on. Logged once.`),
      ),
    inject: [RESOLVED_CACHE_OPTIONS, CACHE_LOGGER],
  },
  { provide: TenantContext, useFactory: (options: ResolvedCacheOptions) => new TenantContext(options.tenancy.resolve), inject: [RESOLVED_CACHE_OPTIONS] },
  {
    provide: EntryCodecs,
    useFactory: (options: ResolvedCacheOptions, telemetry: CacheTelemetry) =>
      new EntryCodecs({ maxInflatedBytes: options.maxInflatedBytes, cipher: options.cipher, onCompress: (bytesIn, bytesOut) => telemetry.compressed(bytesIn, bytesOut) }),
    inject: [RESOLVED_CACHE_OPTIONS, CacheTelemetry],
  },
  {
    provide: L1_TIER,
    useFactory: (options: ResolvedCacheOptions, telemetry: CacheTelemetry, codecs: EntryCodecs): MemoryTier | null => {
      if (options.memory === false) return null;
      const codec = codecs.get(options.compressThreshold, options.compression);
      const quota = options.tenancy.maxL1Bytes;
      return new MemoryTier({
        maxEntries: options.memory.maxEntries,
        maxBytes: options.memory.maxBytes,
        parse: (serialized) => codec.parseValue(serialized),
        onEvict: () => void (telemetry.evictions += 1),
        quota: quota === undefined ? undefined : new TenantQuota(quota, tenantOfKey),
      });
    },
    inject: [RESOLVED_CACHE_OPTIONS, CacheTelemetry, EntryCodecs],
  },
  {
    provide: STORE_ADAPTERS,
    useFactory: (options: ResolvedCacheOptions, logger: LoggerService, telemetry: CacheTelemetry, now: () => number): SelectedStores =>
      selectStores(options, { logger, telemetry, now }),
    inject: [RESOLVED_CACHE_OPTIONS, CACHE_LOGGER, CacheTelemetry, CACHE_CLOCK],
  },
];
