import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { CacheModuleOptions } from './cache.options';

export interface CacheModuleExtras {
  /** Register the module globally (default true): every module can inject `CacheService`. */
  isGlobal: boolean;
  /**
   * For `forRootAsync`: the names of the named caches to make injectable with `@InjectCache(name)`.
   * Their policies come from the factory's `caches` option. `forRoot` reads them from `caches` itself.
   */
  cacheNames: string[];
  /**
   * For `forRootAsync` with `tenancy.header`, `user` or `resolve`: installs the interceptor that gives
   * each request its tenant (`forRoot` sees the option itself). Startup fails if it is needed and missing.
   */
  requestTenancy: boolean;
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: CACHE_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<CacheModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<CacheModuleExtras>({ isGlobal: true, cacheNames: [], requestTenancy: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
