export { CacheModule, InjectCache } from './cache.module';
export { CACHE_MODULE_OPTIONS } from './cache.module-definition';
export type { CacheModuleExtras } from './cache.module-definition';
export { CacheService } from './cache.service';
export type { SetOptions, SetManyItem } from './cache.service';
export { CacheStack } from './cache.stack';
export { CACHE_CLOCK, getCacheToken } from './cache.constants';
export type {
  BusOptions,
  CacheModuleOptions,
  InvalidationOptions,
  NamedCacheOptions,
  TierName,
  WarmingOptions,
} from './cache.options';
export type { WarmEntry, WarmOptions, WarmResult } from './warming/warm';
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
