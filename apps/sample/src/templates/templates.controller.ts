import { Body, Controller, Get, HttpCode, Param, Post, Put, Res } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Response } from 'express';
import { xCache } from '../common/cache-status';
import { TEMPLATE_UPDATED, type TemplateUpdatedEvent } from './templates.events';
import { type Served, TemplatesService } from './templates.service';

@Controller('templates')
export class TemplatesController {
  constructor(
    private readonly templates: TemplatesService,
    private readonly events: EventEmitter2,
  ) {}

  @Get()
  list() {
    return this.templates.list();
  }

  @Get(':id')
  async get(@Param('id') id: string, @Res({ passthrough: true }) res: Response) {
    return this.send(res, await this.templates.get(id));
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
    return this.send(res, await this.templates.score(id, body?.context));
  }

  @Post(':id/render')
  @HttpCode(200)
  async render(@Param('id') id: string, @Body() body: { data?: unknown }, @Res({ passthrough: true }) res: Response) {
    return this.send(res, await this.templates.render(id, body?.data));
  }

  /** Updates a template and emits `template.updated`; the listener invalidates its caches before this returns. */
  @Put(':id')
  async update(@Param('id') id: string, @Body() body: Record<string, unknown>) {
    const template = this.templates.update(id, body);
    const event: TemplateUpdatedEvent = { id, version: template.version };
    await this.events.emitAsync(TEMPLATE_UPDATED, event);
    return template;
  }

  private send<T>(res: Response, served: Served<T>): T {
    res.setHeader('X-Cache', xCache(served.hit ? 'hit' : 'miss'));
    return served.value;
  }
}
