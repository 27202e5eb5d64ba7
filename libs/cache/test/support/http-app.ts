import { Controller, Get, Injectable, type INestApplication, Module, Param } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CacheModule, type CacheModuleOptions, CacheService } from '../../src';
import { CacheStack } from '../../src/cache.stack';

/** Counts factory calls per key: the "expensive" work behind the cache. */
@Injectable()
export class ItemSource {
  readonly calls = new Map<string, number>();
  version = 1;

  load(id: string): { id: string; v: number } {
    this.calls.set(id, (this.calls.get(id) ?? 0) + 1);
    return { id, v: this.version };
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
}

export interface HttpCacheApp {
  app: INestApplication;
  baseUrl: string;
  cache: CacheService;
  stack: CacheStack;
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
    stack: app.get(CacheStack),
    source: app.get(ItemSource),
  };
}
