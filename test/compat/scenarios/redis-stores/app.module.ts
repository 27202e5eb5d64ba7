import { Controller, Get, Inject, Module, Param, Post, Body, Delete, type Type } from '@nestjs/common';
import { CACHE_MANAGER, Cache, CacheModule } from '@strata/cache/compat';
import KeyvRedis from '@keyv/redis';
import { Keyv } from 'keyv';
import { KeyvCacheableMemory } from 'cacheable';

@Controller('store')
export class StoreController {
  constructor(@Inject(CACHE_MANAGER) private readonly cacheManager: Cache) {}

  @Get(':key')
  async get(@Param('key') key: string): Promise<{ value: unknown }> {
    return { value: (await this.cacheManager.get(key)) ?? null };
  }

  @Post(':key')
  async set(@Param('key') key: string, @Body() body: { value: unknown }): Promise<{ ok: true }> {
    await this.cacheManager.set(key, body.value, 60_000);
    return { ok: true };
  }

  @Delete(':key')
  async del(@Param('key') key: string): Promise<{ ok: true }> {
    await this.cacheManager.del(key);
    return { ok: true };
  }
}

/**
 * "Using alternative Cache stores": a memory store in front of `@keyv/redis`, as in the docs; the URL is
 * the harness server's (the docs have redis://localhost:6379). Strata reads the memory store as its L1
 * and the Redis store as its Redis tier.
 */
export function redisApp(redisUrl: string): Type<unknown> {
  @Module({
    imports: [
      CacheModule.registerAsync({
        useFactory: async () => {
          return {
            stores: [
              new Keyv({
                store: new KeyvCacheableMemory({ ttl: 60000, lruSize: 5000 }),
              }),
              new KeyvRedis(redisUrl),
            ],
          };
        },
      }),
    ],
    controllers: [StoreController],
  })
  class AppModule {}
  return AppModule;
}
