import { Controller, Get, Inject, Injectable, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { CACHE_MANAGER, Cache, CacheInterceptor, CacheModule } from '@strata/cache/compat';
import { Calls, CallsModule } from '../start-app';

/** A feature module that injects the cache manager without importing CacheModule: it is global. */
@Injectable()
export class ReportService {
  constructor(@Inject(CACHE_MANAGER) private readonly cache: Cache) {}
  remaining(key: string): Promise<number | undefined> {
    return this.cache.ttl(key);
  }
}

@Controller('reports')
export class ReportController {
  constructor(
    private readonly reports: ReportService,
    private readonly calls: Calls,
  ) {}

  @Get('daily')
  daily(): { run: number } {
    return { run: this.calls.hit('daily') };
  }

  @Get('expiry')
  async expiry(): Promise<{ expires: number | null; now: number }> {
    return { expires: (await this.reports.remaining('/reports/daily')) ?? null, now: Date.now() };
  }
}

@Module({ controllers: [ReportController], providers: [ReportService] })
export class ReportModule {}

/** "Global" examples: `APP_INTERCEPTOR` binds the interceptor to every GET route; `ttl: 5000` (ms); `isGlobal: true`. */
@Module({
  imports: [CacheModule.register({ ttl: 5000, isGlobal: true }), ReportModule, CallsModule],
  providers: [
    {
      provide: APP_INTERCEPTOR,
      useClass: CacheInterceptor,
    },
  ],
})
export class AppModule {}
