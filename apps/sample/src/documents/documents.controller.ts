import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Res, UseInterceptors } from '@nestjs/common';
import { CacheEvict, CacheInterceptor, Cacheable } from '@strata/cache';
import type { Request, Response } from 'express';
import { xCache } from '../common/cache-status';
import { tenantOf } from '../common/tenant';
import { DocumentsService } from './documents.service';

type RequestHeaders = Record<string, string | string[] | undefined>;

/** The cached responses about the document a request names, in its tenant. */
const responsesAbout = (request: Request) => [`http:doc:${tenantOf(request.headers)}:${String(request.params.id)}`];
const tenantOfRequest = (request: Request) => tenantOf(request.headers);

@Controller('documents')
export class DocumentsController {
  constructor(private readonly documents: DocumentsService) {}

  /**
   * `{ content }` (text) or `{ contentBase64 }` (a PDF, an image or text), and `filename?`: the text is read
   * (PDF.js or Tesseract), parsed and its features, requirements and metadata extracted, each step cached.
   */
  @Post()
  @HttpCode(200)
  async upload(@Body() body: { content?: unknown; contentBase64?: unknown; filename?: unknown }, @Headers() headers: RequestHeaders, @Res({ passthrough: true }) res: Response) {
    const result = await this.documents.upload(tenantOf(headers), body);
    res.setHeader('X-Cache', xCache(result.cache.all));
    return result;
  }

  /** A document's metadata, per tenant, cached as a response until the document is deleted. */
  @Get(':id')
  @UseInterceptors(CacheInterceptor)
  @Cacheable({ name: 'documents', ttl: '10m', per: tenantOfRequest, tags: responsesAbout })
  find(@Param('id') id: string, @Headers() headers: RequestHeaders) {
    return this.documents.find(tenantOf(headers), id);
  }

  @Delete(':id')
  @HttpCode(204)
  @UseInterceptors(CacheInterceptor)
  @CacheEvict({ name: 'documents', tags: responsesAbout })
  async remove(@Param('id') id: string, @Headers() headers: RequestHeaders): Promise<void> {
    await this.documents.remove(tenantOf(headers), id);
  }

  @Get(':id/extract/:component')
  async component(@Param('id') id: string, @Param('component') component: string, @Headers() headers: RequestHeaders, @Res({ passthrough: true }) res: Response) {
    const result = await this.documents.component(tenantOf(headers), id, component);
    res.setHeader('X-Cache', xCache(result.status === 'miss' ? 'miss' : 'hit'));
    return { id, component, value: result.value };
  }
}
