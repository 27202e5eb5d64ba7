import { type DynamicModule, Inject, Module, type Provider } from '@nestjs/common';
import { ASYNC_OPTIONS_TYPE, ConfigurableModuleClass, OPTIONS_TYPE } from './cache.module-definition';
import { CACHE_CLOCK, getCacheToken } from './cache.constants';
import { DEFAULT_CACHE_NAME } from './cache.options';
import { CacheService } from './cache.service';
import { CacheStack } from './cache.stack';
import { CacheHealthIndicator } from './observability/cache-health.indicator';
import { CacheEvents } from './observability/events';
import { CacheTelemetry } from './observability/telemetry';

/**
 * `CacheModule.forRoot({ redis: { url }, ttl: '10m' })` or `forRootAsync({ imports, inject, useFactory })`.
 * Global by default. Provides `CacheService` (the default cache) and one view per named cache
 * (`@InjectCache('ai')`).
 */
@Module({
  providers: [
    { provide: CACHE_CLOCK, useValue: Date.now },
    CacheStack,
    { provide: CacheService, useFactory: (stack: CacheStack) => defaultView(stack), inject: [CacheStack] },
    { provide: CacheTelemetry, useFactory: (stack: CacheStack) => stack.telemetry, inject: [CacheStack] },
    { provide: CacheEvents, useFactory: (stack: CacheStack) => stack.telemetry.events, inject: [CacheStack] },
    CacheHealthIndicator,
  ],
  exports: [CacheService, CacheStack, CacheTelemetry, CacheEvents, CacheHealthIndicator],
})
export class CacheModule extends ConfigurableModuleClass {
  static override forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    return withNamedCaches(super.forRoot(options), Object.keys(options.caches ?? {}));
  }

  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return withNamedCaches(super.forRootAsync(options), options.cacheNames ?? []);
  }
}

function defaultView(stack: CacheStack): CacheService {
  return new CacheService(stack, { namespace: stack.options.namespace, name: DEFAULT_CACHE_NAME });
}

function withNamedCaches(module: DynamicModule, names: readonly string[]): DynamicModule {
  const providers: Provider[] = names.map((name) => ({
    provide: getCacheToken(name),
    useFactory: (cache: CacheService) => cache.cache(name),
    inject: [CacheService],
  }));
  return {
    ...module,
    providers: [...(module.providers ?? []), ...providers],
    exports: [...(module.exports ?? []), ...providers.map((p) => (p as { provide: string }).provide)],
  };
}

/** Injects the `CacheService` view of a named cache: `constructor(@InjectCache('ai') cache: CacheService)`. */
export const InjectCache = (name: string): ParameterDecorator & PropertyDecorator => Inject(getCacheToken(name));
