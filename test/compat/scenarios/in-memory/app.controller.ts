import { Body, Controller, Delete, Get, Inject, Param, Post, Query } from '@nestjs/common';
// The only change from the docs: '@nestjs/cache-manager' → '@strata/cache/compat'.
import { CACHE_MANAGER, Cache } from '@strata/cache/compat';

/** "Interacting with the Cache store": the cache manager injected with CACHE_MANAGER, each docs call behind a route. */
@Controller('store')
export class AppController {
  constructor(@Inject(CACHE_MANAGER) private cacheManager: Cache) {}

  @Get(':key')
  async get(@Param('key') key: string): Promise<{ value: unknown; expires: number | null }> {
    const value = await this.cacheManager.get(key);
    return { value: value ?? null, expires: (await this.cacheManager.ttl(key)) ?? null };
  }

  @Post(':key')
  async set(@Param('key') key: string, @Body() body: { value: unknown }, @Query('ttl') ttl?: string): Promise<{ ok: true }> {
    if (ttl === undefined) await this.cacheManager.set(key, body.value);
    else await this.cacheManager.set(key, body.value, Number(ttl));
    return { ok: true };
  }

  @Delete(':key')
  async del(@Param('key') key: string): Promise<{ ok: true }> {
    await this.cacheManager.del(key);
    return { ok: true };
  }

  @Delete()
  async clear(): Promise<{ ok: true }> {
    await this.cacheManager.clear();
    return { ok: true };
  }

  /** Reads a cached object, changes the copy it got, reads it again: cache-manager callers may mutate what they read. */
  @Post(':key/mutate')
  async mutate(@Param('key') key: string): Promise<{ mutated: unknown; again: unknown }> {
    const first = await this.cacheManager.get<{ tags: string[] }>(key);
    first!.tags.push('changed-by-caller');
    return { mutated: first, again: await this.cacheManager.get(key) };
  }
}
