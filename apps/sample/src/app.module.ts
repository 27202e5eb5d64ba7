import { Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { TerminusModule } from '@nestjs/terminus';
import { CacheModule } from '@strata/cache';
import { AiCacheModule } from '@strata/cache/ai';
import { Registry } from 'prom-client';
import { AiModule } from './ai/ai.module';
import { PRICES } from './ai/ai.pricing';
import { DashboardController } from './dashboard/dashboard.controller';
import { DashboardService } from './dashboard/dashboard.service';
import { DocumentsModule } from './documents/documents.module';
import { HealthController } from './observability/health.controller';
import { MetricsModule } from './observability/metrics.module';
import { ReportsController } from './reports/reports.controller';
import { ReportsService } from './reports/reports.service';
import { StoreModule } from './store/store.module';
import { TemplatesModule } from './templates/templates.module';
import { UsersModule } from './users/users.module';

const CACHES = {
  reports: { ttl: '30m' },
  ai: { ttl: '1h', grace: '10m' },
  templates: { ttl: '6h' },
  documents: { ttl: '7d' },
  // Users and sessions are read with get (fresh only): no grace, so they leave Redis when they expire.
  users: { ttl: '10m', grace: 0 },
  sessions: { ttl: '30m', grace: 0 },
} as const;

/**
 * Memory-only without REDIS_URL; L1 + Redis with it. The data (templates, users, conversations, documents)
 * lives in PostgreSQL when DATABASE_URL is set (tables created at startup), in memory otherwise. The AI module calls a simulated model unless
 * OPENAI_API_KEY is set. `/metrics` (Prometheus), `/health` (terminus), `/dashboard` (live charts).
 * CACHE_L1_MAX_ENTRIES bounds L1 (to watch evictions); CACHE_PURGE=1 turns on the hard purge of invalidated
 * tags' keys (`invalidation.purge`). Everything is read when the app starts (not
 * when this file is imported), so tests and scripts can set it.
 */
@Module({
  imports: [
    MetricsModule,
    TerminusModule,
    StoreModule,
    CacheModule.forRootAsync({
      imports: [MetricsModule],
      inject: [Registry],
      useFactory: (registry: Registry) => ({
        prefix: 'sample',
        ttl: '10m',
        grace: '1m',
        redis: process.env.REDIS_URL || undefined,
        memory: process.env.CACHE_L1_MAX_ENTRIES ? { maxEntries: Number(process.env.CACHE_L1_MAX_ENTRIES) } : undefined,
        caches: CACHES,
        invalidation: { purge: process.env.CACHE_PURGE === '1' },
        metrics: { registry },
      }),
      cacheNames: Object.keys(CACHES),
    }),
    AiCacheModule.forRootAsync({
      useFactory: () => ({
        cache: 'ai',
        provider: process.env.OPENAI_API_KEY ? 'openai' : 'simulated',
        prices: PRICES,
        ttl: { extract: '30d', transcribe: '30d', chat: '30m' },
      }),
    }),
    EventEmitterModule.forRoot(),
    AiModule,
    TemplatesModule,
    DocumentsModule,
    UsersModule,
  ],
  controllers: [ReportsController, HealthController, DashboardController],
  providers: [ReportsService, DashboardService],
})
export class AppModule {}
