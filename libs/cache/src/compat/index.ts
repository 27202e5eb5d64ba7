// `@strata/cache/compat`: a drop-in for `@nestjs/cache-manager` + `cache-manager` 7, backed by Strata,
// and Strata as a Keyv store. Change the import lines; see the README's migration section.
export { CacheModule } from './cache-manager.module';
export { Cache } from './cache-manager.types';
export type {
  CacheManagerEvents,
  CacheManagerItem,
  KeyvLike,
  StoredDataRaw,
  WrapOptions,
  WrapOptionsRaw,
} from './cache-manager.types';
export type {
  CacheManagerOptions,
  CacheModuleAsyncOptions,
  CacheModuleOptions,
  CacheOptions,
  CacheOptionsFactory,
} from './cache-manager.options';
export { CACHE_KEY_METADATA, CACHE_MANAGER, CACHE_TTL_METADATA, NO_EXPIRY } from './cache-manager.constants';
export { CacheKey } from './cache-key.decorator';
export type { CacheKeyFactory } from './cache-key.decorator';
export { CacheTTL } from './cache-ttl.decorator';
export type { CacheTTLFactory } from './cache-ttl.decorator';
export { CacheInterceptor } from './cache-manager.interceptor';
export { StrataCacheManager } from './strata-cache-manager';
export type { CacheManagerDefaults } from './strata-cache-manager';
export { KeyvStrata } from './keyv-strata';
export type { KeyvStrataOptions } from './keyv-strata';
export { KeyvAdapters } from './keyv.adapters';
export type { KeyvAdaptersOptions } from './keyv.adapters';
export { KeyvRemoteStore } from './keyv-remote.store';
export type { KeyvClient } from './keyv-remote.store';
export { KeyvTimesStore } from './keyv-times.store';
