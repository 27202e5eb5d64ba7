import { Controller, Get, Injectable, type INestApplication, Module, Param, Put, Query } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CacheModule, type CacheModuleOptions, CacheService } from '../../src';
import { type CacheInspector, inspectCache } from '../../src/testing';

/** The source of truth behind the cache (the "database"): a version per key, and factory calls per key. */
@Injectable()
export class ItemSource {
  readonly calls = new Map<string, number>();
  readonly versions = new Map<string, number>();

  version(id: string): number {
    return this.versions.get(id) ?? 1;
  }

  load(id: string): { id: string; v: number } {
    this.calls.set(id, (this.calls.get(id) ?? 0) + 1);
    return { id, v: this.version(id) };
  }

  bump(id: string): { id: string; v: number } {
    this.versions.set(id, this.version(id) + 1);
    return { id, v: this.version(id) };
  }
}

@Controller('items')
class ItemsController {
  constructor(
    private readonly cache: CacheService,
    private readonly source: ItemSource,
  ) {}

  @Get(':id')
  get(@Param('id') id: string) {
    return this.cache.getOrSet(id, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return this.source.load(id);
    });
  }

  /** A write to the source, then the cache: write-through (`?mode=set`) or invalidation (`?mode=delete`). */
  @Put(':id')
  async put(@Param('id') id: string, @Query('mode') mode: string) {
    const item = this.source.bump(id);
    if (mode === 'delete') await this.cache.delete(id);
    else await this.cache.set(id, item);
    return item;
  }
}

export interface HttpCacheApp {
  app: INestApplication;
  baseUrl: string;
  cache: CacheService;
  inspector: CacheInspector;
  source: ItemSource;
}

/** A Nest app (Express) that serves `/items/:id` through the cache, listening on a free port. */
export async function startHttpApp(options: CacheModuleOptions): Promise<HttpCacheApp> {
  @Module({
    imports: [CacheModule.forRoot({ logger: { log() {}, warn() {}, error() {} }, ...options })],
    controllers: [ItemsController],
    providers: [ItemSource],
  })
  class ItemsModule {}

  const moduleRef = await Test.createTestingModule({ imports: [ItemsModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    baseUrl: `http://127.0.0.1:${address.port}`,
    cache: app.get(CacheService),
    inspector: inspectCache(app),
    source: app.get(ItemSource),
  };
}
