import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CacheModule } from '@strata/cache';
import { Registry } from 'prom-client';
import { DashboardController } from './dashboard/dashboard.controller';
import { DashboardService } from './dashboard/dashboard.service';
import { HealthController } from './observability/health.controller';
import { MetricsModule } from './observability/metrics.module';
import { ReportsController } from './reports/reports.controller';
import { ReportsService } from './reports/reports.service';

/**
 * Memory-only without REDIS_URL; L1 + Redis with it. `/metrics` (Prometheus), `/health` (terminus),
 * `/dashboard` (live charts). CACHE_L1_MAX_ENTRIES bounds L1 (to watch evictions).
 */
@Module({
  imports: [
    MetricsModule,
    TerminusModule,
    CacheModule.forRootAsync({
      imports: [MetricsModule],
      inject: [Registry],
      // Read when the app starts (not when this file is imported), so tests and scripts can set it.
      useFactory: (registry: Registry) => ({
        prefix: 'sample',
        ttl: '10m',
        grace: '1m',
        redis: process.env.REDIS_URL || undefined,
        memory: process.env.CACHE_L1_MAX_ENTRIES ? { maxEntries: Number(process.env.CACHE_L1_MAX_ENTRIES) } : undefined,
        caches: { reports: { ttl: '30m' } },
        metrics: { registry },
      }),
      cacheNames: ['reports'],
    }),
  ],
  controllers: [ReportsController, HealthController, DashboardController],
  providers: [ReportsService, DashboardService],
})
export class AppModule {}
