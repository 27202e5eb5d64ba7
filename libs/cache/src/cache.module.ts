import { type DynamicModule, Inject, Module, type Provider } from '@nestjs/common';
import { APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { ASYNC_OPTIONS_TYPE, ConfigurableModuleClass, OPTIONS_TYPE } from './cache.module-definition';
import { getCacheToken } from './cache.constants';
import { CACHE_PART_PROVIDERS } from './cache.providers';
import { DEFAULT_CACHE_NAME } from './cache.options';
import { CacheService } from './cache.service';
import { CacheStack } from './cache.stack';
import { CacheHealthIndicator } from './observability/cache-health.indicator';
import { CacheEvents } from './observability/events';
import { CacheTelemetry } from './observability/telemetry';
import { CacheMetadataAccessor } from './decorators/cache-metadata.accessor';
import { CacheExplorer } from './decorators/cache.explorer';
import { WarmerExplorer } from './warming/warmer.explorer';
import { TenantContext } from './tenancy/tenant-context';
import { TenantInterceptor } from './tenancy/tenant.interceptor';

/**
 * `CacheModule.forRoot({ redis: { url }, ttl: '10m' })` or `forRootAsync({ imports, inject, useFactory })`.
 * Global by default. Provides `CacheService` (the default cache), one view per named cache
 * (`@InjectCache('ai')`), `TenantContext`, the explorer that applies the cache decorators, and the one
 * that runs `@CacheWarmer` methods.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    ...CACHE_PART_PROVIDERS,
    CacheStack,
    { provide: CacheService, useFactory: (stack: CacheStack) => defaultView(stack), inject: [CacheStack] },
    { provide: CacheEvents, useFactory: (telemetry: CacheTelemetry) => telemetry.events, inject: [CacheTelemetry] },
    CacheHealthIndicator,
    CacheMetadataAccessor,
    CacheExplorer,
    WarmerExplorer,
  ],
  exports: [CacheService, CacheStack, CacheTelemetry, CacheEvents, CacheHealthIndicator, TenantContext, CacheMetadataAccessor],
})
export class CacheModule extends ConfigurableModuleClass {
  static override forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    const tenancy = options.tenancy;
    const resolves = tenancy !== undefined && (tenancy.header ?? tenancy.user ?? tenancy.resolve) !== undefined;
    return withTenancy(withNamedCaches(super.forRoot(options), Object.keys(options.caches ?? {})), resolves);
  }

  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return withTenancy(withNamedCaches(super.forRootAsync(options), options.cacheNames ?? []), options.requestTenancy === true);
  }
}

/** Installs `TenantInterceptor` globally, only when requests carry a tenant: other apps pay nothing. */
function withTenancy(module: DynamicModule, resolves: boolean): DynamicModule {
  if (!resolves) return module;
  return { ...module, providers: [...(module.providers ?? []), { provide: APP_INTERCEPTOR, useClass: TenantInterceptor }] };
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
