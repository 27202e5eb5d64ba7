import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { xCache } from '../common/cache-status';
import { tenantOf } from '../common/tenant';
import { DocumentsService } from './documents.service';

type RequestHeaders = Record<string, string | string[] | undefined>;

@Controller('documents')
export class DocumentsController {
  constructor(private readonly documents: DocumentsService) {}

  /** `{ content }` or `{ contentBase64 }` (and `filename?`): OCR, parse and extract, each cached. */
  @Post()
  @HttpCode(200)
  async upload(@Body() body: { content?: unknown; contentBase64?: unknown; filename?: unknown }, @Headers() headers: RequestHeaders, @Res({ passthrough: true }) res: Response) {
    const result = await this.documents.upload(tenantOf(headers), body);
    res.setHeader('X-Cache', xCache(result.cache.all));
    return result;
  }

  @Get(':id')
  summary(@Param('id') id: string, @Headers() headers: RequestHeaders) {
    return this.documents.summary(tenantOf(headers), id);
  }

  @Get(':id/extract/:component')
  async component(@Param('id') id: string, @Param('component') component: string, @Headers() headers: RequestHeaders, @Res({ passthrough: true }) res: Response) {
    const result = await this.documents.component(tenantOf(headers), id, component);
    res.setHeader('X-Cache', xCache(result.status === 'miss' ? 'miss' : 'hit'));
    return { id, component, value: result.value };
  }
}
