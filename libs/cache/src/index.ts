export { CacheModule, InjectCache } from './cache.module';
export { CACHE_MODULE_OPTIONS } from './cache.module-definition';
export type { CacheModuleExtras } from './cache.module-definition';
export { CacheService } from './cache.service';
export type { SetOptions, SetManyItem, GetOrSetOptions } from './cache.service';
export { CacheStack } from './cache.stack';
export {
  CACHE_CLOCK,
  CACHEABLE_METADATA,
  CACHE_EVICT_METADATA,
  CACHE_PUT_METADATA,
  CACHE_TAGS_METADATA,
  NO_CACHE_METADATA,
  getCacheToken,
} from './cache.constants';
export type { CacheModuleOptions, NamedCacheOptions, TierName, TenancyOptions, TenantRequest } from './cache.options';
export type { Duration } from './core/durations';
export type { CacheEntry } from './core/entry';
export type { Factory } from './core/tiered-cache';
export {
  StrataError,
  InvalidOptionError,
  NotSerializableError,
  CorruptEntryError,
  L2UnavailableError,
} from './core/errors';
export type { StrataErrorCode } from './core/errors';
export type { CacheStats, TierStats } from './observability/stats';
export type { RedisConnectionOptions } from './tiers/redis.connection';
export type { BreakerState } from './resilience/circuit-breaker';
export { Cacheable } from './decorators/cacheable.decorator';
export { CachePut } from './decorators/cache-put.decorator';
export { CacheEvict } from './decorators/cache-evict.decorator';
export { CacheTags } from './decorators/cache-tags.decorator';
export { NoCache } from './decorators/no-cache.decorator';
export type {
  CacheArgs,
  CacheEvictOptions,
  CacheKeySource,
  CacheKeysSource,
  CacheOwner,
  CachePutOptions,
  CacheTagSource,
  CacheableOptions,
} from './decorators/cache-options.types';
export { CacheMetadataAccessor } from './decorators/cache-metadata.accessor';
export type { CacheMetadata } from './decorators/cache-metadata.accessor';
export { CacheExplorer } from './decorators/cache.explorer';
export { CacheInterceptor } from './http/cache.interceptor';
export type { HttpCacheRecord, HttpRequestLike, HttpResponseLike } from './http/http-record';
export { TenantContext } from './tenancy/tenant-context';
export { TenantInterceptor } from './tenancy/tenant.interceptor';
