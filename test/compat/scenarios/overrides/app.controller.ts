import { Controller, Get, UseInterceptors } from '@nestjs/common';
import { CacheInterceptor, CacheKey, CacheTTL } from '@strata/cache/compat';
import { Calls } from '../start-app';

/**
 * "Global cache overrides": `@CacheTTL(50)` on the controller, `@CacheKey('custom_key')` and
 * `@CacheTTL(20)` on the handler (the docs' handler has no route decorator; `@Get` is added to reach it).
 * cache-manager 7 TTLs are MILLISECONDS: 20 here is 20 ms, 50 is 50 ms.
 */
@Controller()
@CacheTTL(50)
@UseInterceptors(CacheInterceptor)
export class AppController {
  constructor(private readonly calls: Calls) {}

  @Get()
  @CacheKey('custom_key')
  @CacheTTL(20)
  findAll(): string[] {
    return [`run ${this.calls.hit('findAll')}`];
  }

  /** Only the controller's ttl applies here. */
  @Get('controller-ttl')
  controllerTtl(): string[] {
    return [`run ${this.calls.hit('controllerTtl')}`];
  }

  /** `@CacheTTL` may also be a function of the execution context (here: the `ttl` query parameter). */
  @Get('ttl-from-context')
  @CacheTTL((context) => Number(context.switchToHttp().getRequest<{ query: { ttl?: string } }>().query.ttl ?? 1000))
  fromContext(): string[] {
    return [`run ${this.calls.hit('fromContext')}`];
  }
}
