import { Injectable, Module } from '@nestjs/common';
import type { CacheModuleOptions, CacheOptionsFactory } from '@strata/cache/compat';

/**
 * Stands in for the docs' `ConfigModule`/`ConfigService` (from @nestjs/config, not a dependency here):
 * `get(name)` reads a setting, and it also implements `CacheOptionsFactory` for the `useExisting` example.
 */
@Injectable()
export class ConfigService implements CacheOptionsFactory {
  private readonly values: Record<string, number> = { CACHE_TTL: 7_000 };
  get<T = number>(name: string): T {
    return this.values[name] as T;
  }
  createCacheOptions(): CacheModuleOptions {
    return { ttl: this.get('CACHE_TTL') };
  }
}

@Module({ providers: [ConfigService], exports: [ConfigService] })
export class ConfigModule {}
