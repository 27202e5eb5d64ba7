export { CacheModule, InjectCache } from './cache.module';
export { CACHE_MODULE_OPTIONS } from './cache.module-definition';
export type { CacheModuleExtras } from './cache.module-definition';
export { CacheService } from './cache.service';
export type { SetOptions, SetManyItem, GetOrSetOptions } from './cache.service';
export { CACHE_CLOCK, getCacheToken } from './cache.constants';
export type {
  BusOptions,
  CacheModuleOptions,
  InvalidationOptions,
  NamedCacheOptions,
  TenancyOptions,
  TenantRequest,
  TierName,
  WarmingOptions,
} from './cache.options';
export type { WarmEntries, WarmEntry, WarmOptions, WarmResult } from './warming/warm';
export type { Duration } from './core/durations';
export type { CacheEntry } from './core/entry';
export type { Factory, FactoryContext, GetOrSetResult } from './engine/engine.types';
export {
  StrataError,
  InvalidOptionError,
  InvalidKeyError,
  InvalidArgumentError,
  NotSerializableError,
  CorruptEntryError,
  L2UnavailableError,
  FactoryTimeoutError,
  EmbeddingError,
  StoreError,
  MissingPeerError,
} from './core/errors';
export type { StrataErrorCode } from './core/errors';
export type { CacheStats, TierStats, NamedCacheStats, LatencyStats, WarmerStats, WarmerOutcome } from './observability/stats';
export type { LatencySummary } from './observability/latency';
export type { AdviceOptions } from './cache.options';
export type { CompressionCodec } from './codec/compression';
export type { Advice, AdviceCode } from './observability/advice';
export { CacheEvents } from './observability/events';
export type { CacheEventMap, CacheEventName, CacheEventListener } from './observability/events';
export { CacheTelemetry } from './observability/telemetry';
export type { Savings } from './observability/telemetry';
export { CacheHealthIndicator } from './observability/cache-health.indicator';
export type { CacheHealth, CacheHealthIndicatorResult, CacheHealthOptions } from './observability/cache-health.indicator';
export type { MetricsOptions, MetricsRegistry } from './observability/prometheus';
export type { IoRedisClient, IoRedisOptions, RedisConnectionOptions } from './redis/redis.types';
export type { PostgresOptions } from './postgres/postgres.options';
export type { PostgresConnectionOptions, PgPool, PgPoolOptions } from './postgres/postgres.types';
export { migratePostgresSchema } from './postgres/postgres.migrate';
export type { BreakerState } from './resilience/circuit-breaker';
export type { FailSafeOptions, FactoryTimeoutOptions, LockOptions } from './resilience/resilience.options';
export type { EncryptionOptions } from './codec/encryption';
export { Cacheable } from './decorators/cacheable.decorator';
export { CachePut } from './decorators/cache-put.decorator';
export { CacheEvict } from './decorators/cache-evict.decorator';
export { CacheTags } from './decorators/cache-tags.decorator';
export { NoCache } from './decorators/no-cache.decorator';
export { CacheWarmer } from './decorators/cache-warmer.decorator';
export type { CacheWarmerResult } from './decorators/cache-warmer.decorator';
export type {
  CacheArgs,
  CacheEvictOptions,
  CacheKeySource,
  CacheKeysSource,
  CacheOwner,
  CachePutOptions,
  CacheTagSource,
  CacheWarmerOptions,
  CacheableOptions,
} from './decorators/cache-options.types';
export { CacheInterceptor } from './http/cache.interceptor';
export type { HttpCacheRecord, HttpRequestLike, HttpResponseLike } from './http/http-record';
export { TenantContext } from './tenancy/tenant-context';
export { TenantInterceptor } from './tenancy/tenant.interceptor';
export { globLiteral } from './core/keys';
// Ports (implement them for your own L2: PostgreSQL, Keyv, ...) and the in-process adapters
export * from './ports';
export { MemoryAdapters } from './memory/memory.adapters';
export type { MemoryAdapterOptions } from './memory/memory.adapters';
export { MemoryBackend } from './memory/memory-backend';
