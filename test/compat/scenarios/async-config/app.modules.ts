import { Controller, Get, Inject, Injectable, Module, type Type } from '@nestjs/common';
import { CACHE_MANAGER, Cache, CacheModule, type CacheModuleOptions, type CacheOptionsFactory } from '@strata/cache/compat';
import { ConfigModule, ConfigService } from './config.module';

/** Reports the expiry a default `set` gets, so the spec can see which options were applied. */
@Controller()
export class ProbeController {
  constructor(@Inject(CACHE_MANAGER) private readonly cache: Cache) {}

  @Get('probe')
  async probe(): Promise<{ before: number; expires: number | null }> {
    const before = Date.now();
    await this.cache.set('probe', 1);
    return { before, expires: (await this.cache.ttl('probe')) ?? null };
  }
}

@Injectable()
class CacheConfigService implements CacheOptionsFactory {
  createCacheOptions(): CacheModuleOptions {
    return {
      ttl: 5,
    };
  }
}

/** An extra provider the factory injects (`extraProviders`). */
@Injectable()
export class MyAdditionalProvider {
  readonly ttl = 9_000;
}

const app = (name: string, cache: ReturnType<typeof CacheModule.registerAsync>): Type<unknown> => {
  @Module({ imports: [cache], controllers: [ProbeController] })
  class AppModule {}
  Object.defineProperty(AppModule, 'name', { value: name });
  return AppModule;
};

/** The docs' "Async configuration" examples, one app each. */
export const ASYNC_APPS = {
  factory: app(
    'FactoryApp',
    CacheModule.registerAsync({
      useFactory: () => ({
        ttl: 5,
      }),
    }),
  ),
  factoryWithInject: app(
    'FactoryWithInjectApp',
    CacheModule.registerAsync({
      imports: [ConfigModule],
      useFactory: async (configService: ConfigService) => ({
        ttl: configService.get('CACHE_TTL'),
      }),
      inject: [ConfigService],
    }),
  ),
  useClass: app(
    'UseClassApp',
    CacheModule.registerAsync({
      useClass: CacheConfigService,
    }),
  ),
  useExisting: app(
    'UseExistingApp',
    CacheModule.registerAsync({
      imports: [ConfigModule],
      useExisting: ConfigService,
    }),
  ),
  extraProviders: app(
    'ExtraProvidersApp',
    CacheModule.registerAsync({
      imports: [ConfigModule],
      useFactory: (extra: MyAdditionalProvider) => ({ ttl: extra.ttl }),
      inject: [MyAdditionalProvider],
      extraProviders: [MyAdditionalProvider],
    }),
  ),
};

/** What each app's default ttl should be, in ms. */
export const EXPECTED_TTL: Record<keyof typeof ASYNC_APPS, number> = {
  factory: 5,
  factoryWithInject: 7_000,
  useClass: 5,
  useExisting: 7_000,
  extraProviders: 9_000,
};
