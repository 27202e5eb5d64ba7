import { Controller, Get, Injectable, Param, UseInterceptors } from '@nestjs/common';
import { CacheInterceptor, CacheService, Cacheable, TenantContext } from '@strata/cache';

/** A provider whose cached method is called from a route that has no CacheInterceptor. */
@Injectable()
export class ReportService {
  runs = 0;

  @Cacheable({ key: 'report:{0}' })
  async report(id: string): Promise<{ id: string; run: number }> {
    this.runs += 1;
    return { id, run: this.runs };
  }
}

@Controller('direct')
export class DirectController {
  constructor(
    private readonly reports: ReportService,
    private readonly cache: CacheService,
    private readonly tenants: TenantContext,
  ) {}

  /** The decorator and a direct CacheService call, with no interceptor of ours around them. */
  @Get(':id')
  async get(@Param('id') id: string) {
    const report = await this.reports.report(id);
    const direct = await this.cache.getOrSet(`direct:${id}`, async () => `computed for ${this.tenants.current() ?? 'nobody'}`);
    return { tenant: this.tenants.current() ?? null, report, direct, key: this.cache.keyOf(`direct:${id}`) };
  }
}

@Controller('cached')
@UseInterceptors(CacheInterceptor)
export class CachedController {
  runs = 0;

  constructor(private readonly tenants: TenantContext) {}

  @Get()
  get() {
    this.runs += 1;
    return { tenant: this.tenants.current() ?? null, run: this.runs };
  }

  /** Shared by everyone of a tenant, even with a session cookie. */
  @Get('team')
  @Cacheable({ per: 'tenant' })
  team() {
    this.runs += 1;
    return { tenant: this.tenants.current() ?? null, run: this.runs };
  }
}
