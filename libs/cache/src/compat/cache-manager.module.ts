import { ConfigurableModuleBuilder, type DynamicModule, Module } from '@nestjs/common';
import { CacheModule as StrataCacheModule } from '../cache.module';
import { CacheService } from '../cache.service';
import { CACHE_MANAGER } from './cache-manager.constants';
import {
  type CacheManagerOptions,
  type CacheModuleAsyncOptions,
  type CacheModuleOptions,
  managerDefaults,
  toStrataOptions,
} from './cache-manager.options';
import { Cache } from './cache-manager.types';
import { StrataCacheManager } from './strata-cache-manager';

const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: CACHE_MANAGER_OPTIONS,
} = new ConfigurableModuleBuilder<CacheManagerOptions>({ moduleName: 'CacheManagerCompat' })
  .setClassMethodName('register')
  .setFactoryMethodName('createCacheOptions')
  .build();

/** Holds the user's cache-manager options (static, or from a factory, class or existing provider) for the two modules that read them. */
@Module({ exports: [CACHE_MANAGER_OPTIONS] })
class CacheManagerOptionsModule extends ConfigurableModuleClass {}

/**
 * `@nestjs/cache-manager`'s `CacheModule`, backed by Strata: `CacheModule.register({ ttl: 5000 })`,
 * `registerAsync({ useFactory | useClass | useExisting, imports, inject, extraProviders, isGlobal })`.
 * Provides `CACHE_MANAGER` (and the `Cache` class token) as a cache-manager 7 `Cache`, and re-exports
 * Strata's own `CacheService` for the code that moves on to it. Not global unless `isGlobal: true`;
 * each registration is a cache of its own, as with cache-manager.
 */
@Module({})
export class CacheModule {
  static register<StoreConfig extends object = object>(options: CacheModuleOptions<StoreConfig> = {} as CacheModuleOptions<StoreConfig>): DynamicModule {
    // Mapped here too so that a wrong option fails where it is written, not only at bootstrap.
    toStrataOptions(options);
    return CacheModule.assemble(CacheManagerOptionsModule.register(options), options.isGlobal);
  }

  static registerAsync<StoreConfig extends object = object>(options: CacheModuleAsyncOptions<StoreConfig>): DynamicModule {
    const holder = CacheManagerOptionsModule.registerAsync(options);
    if (options.extraProviders !== undefined) holder.providers = [...(holder.providers ?? []), ...options.extraProviders];
    return CacheModule.assemble(holder, options.isGlobal);
  }

  private static assemble(holder: DynamicModule, isGlobal: boolean | undefined): DynamicModule {
    const strata = StrataCacheModule.forRootAsync({
      imports: [holder],
      inject: [CACHE_MANAGER_OPTIONS],
      useFactory: (options: CacheManagerOptions) => toStrataOptions(options),
      isGlobal: false,
    });
    return {
      module: CacheModule,
      global: isGlobal === true,
      imports: [holder, strata],
      providers: [
        {
          provide: CACHE_MANAGER,
          useFactory: (cache: CacheService, options: CacheManagerOptions) => new StrataCacheManager(cache, managerDefaults(options)),
          inject: [CacheService, CACHE_MANAGER_OPTIONS],
        },
        { provide: Cache, useExisting: CACHE_MANAGER },
      ],
      exports: [CACHE_MANAGER, Cache, strata],
    };
  }
}
