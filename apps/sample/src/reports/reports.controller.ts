import { Controller, Delete, Get, HttpCode, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ReportsService } from './reports.service';

@Controller()
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  /** The first call takes ~300 ms (the "expensive" work); the next ones are cache hits. */
  @Get('reports/:id')
  async get(@Param('id') id: string, @Res({ passthrough: true }) res: Response) {
    const result = await this.reports.report(id);
    res.setHeader('X-Cache', result.servedFromCache ? 'HIT' : 'MISS');
    return result;
  }

  @Get('reports/:id/summary')
  summary(@Param('id') id: string) {
    return this.reports.summary(id);
  }

  @Delete('reports/:id/cache')
  @HttpCode(204)
  async invalidate(@Param('id') id: string): Promise<void> {
    await this.reports.invalidate(id);
  }

  @Get('cache/stats')
  stats() {
    return this.reports.stats();
  }
}
