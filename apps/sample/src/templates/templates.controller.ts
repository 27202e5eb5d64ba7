import { BadRequestException, Body, Controller, Get, HttpCode, Param, Post, Put, Res, UseInterceptors } from '@nestjs/common';
import { CacheInterceptor, Cacheable } from '@strata/cache';
import type { Request, Response } from 'express';
import { xCache } from '../common/cache-status';
import { Computed } from '../common/computed';
import { CATALOG_TAG, type Served, TemplatesService, templateTag } from './templates.service';

/**
 * GET routes are cached as HTTP responses by `CacheInterceptor` (`X-Cache`, `ETag` → 304, `Age`); their
 * entries carry the template's tags, so `TemplatesService.update`'s `@CacheEvict` drops them too.
 */
@Controller('templates')
@UseInterceptors(CacheInterceptor)
export class TemplatesController {
  constructor(private readonly templates: TemplatesService) {}

  @Get()
  @Cacheable({ name: 'templates', ttl: '10m', tags: CATALOG_TAG })
  list() {
    return this.templates.list();
  }

  @Get(':id')
  @Cacheable({ name: 'templates', ttl: '10m', tags: (request: Request) => [templateTag(String(request.params.id))] })
  get(@Param('id') id: string) {
    return this.templates.get(id);
  }

  @Post('match')
  @HttpCode(200)
  async match(@Body() body: { category?: unknown; requirements?: unknown }, @Res({ passthrough: true }) res: Response) {
    return this.send(res, await this.templates.match(body?.category, body?.requirements));
  }

  @Post('search')
  @HttpCode(200)
  async search(@Body() body: { query?: unknown; limit?: unknown }, @Res({ passthrough: true }) res: Response) {
    const limit = typeof body?.limit === 'number' && body.limit > 0 && body.limit <= 12 ? Math.floor(body.limit) : 3;
    return this.send(res, await this.templates.search(body?.query, limit));
  }

  @Post(':id/score')
  @HttpCode(200)
  async score(@Param('id') id: string, @Body() body: { context?: unknown }, @Res({ passthrough: true }) res: Response) {
    const context = objectOf(body?.context, 'send { context: { ... } }');
    return this.send(res, await Computed.track(() => this.templates.score(id, context)));
  }

  @Post(':id/render')
  @HttpCode(200)
  async render(@Param('id') id: string, @Body() body: { data?: unknown }, @Res({ passthrough: true }) res: Response) {
    const data = objectOf(body?.data, 'send { data: { field: value } }') as Record<string, unknown>;
    return this.send(res, await Computed.track(() => this.templates.render(id, data)));
  }

  /** Updates a template; the service's `@CacheEvict` drops what was cached about it on every instance before this returns. */
  @Put(':id')
  update(@Param('id') id: string, @Body() body: Record<string, unknown>) {
    return this.templates.update(id, body);
  }

  private send<T>(res: Response, served: Served<T>): T {
    res.setHeader('X-Cache', xCache(served.hit ? 'hit' : 'miss'));
    return served.value;
  }
}

function objectOf(value: unknown, hint: string): object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BadRequestException(hint);
  return value;
}
