import { Body, Controller, Get, Param, Put, UseInterceptors } from '@nestjs/common';
import { CacheInterceptor } from '@strata/cache';
// A sub-path import: resolved through `exports` (nodenext) and `typesVersions` (node10).
import { cosineSimilarity } from '@strata/cache/ai';
import { type Product, ProductsService } from './products.service.js';

@Controller('products')
export class ProductsController {
  constructor(private readonly products: ProductsService) {}

  @Get('similarity')
  similarity(): { same: number; orthogonal: number } {
    return { same: cosineSimilarity([1, 2], [2, 4]), orthogonal: cosineSimilarity([1, 0], [0, 1]) };
  }

  @Get(':id')
  find(@Param('id') id: string): Promise<Product> {
    return this.products.find(id);
  }

  @Put(':id')
  async rename(@Param('id') id: string, @Body() body: { name: string }): Promise<{ ok: true }> {
    await this.products.rename(id, body.name);
    return { ok: true };
  }

  @Get(':id/price')
  price(@Param('id') id: string): Promise<{ id: string; cents: number; loads: number }> {
    return this.products.price(id);
  }
}

/** A whole response cached by the interceptor: X-Cache MISS then HIT, and an ETag that answers 304. */
@Controller('catalog')
@UseInterceptors(CacheInterceptor)
export class CatalogController {
  private builds = 0;

  @Get()
  list(): { builds: number; items: string[] } {
    this.builds += 1;
    return { builds: this.builds, items: ['a', 'b', 'c'] };
  }
}
