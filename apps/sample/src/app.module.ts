import { Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { AiCacheModule, CacheModule } from '@strata/cache';
import { AiModule } from './ai/ai.module';
import { PRICES } from './ai/ai.pricing';
import { DocumentsModule } from './documents/documents.module';
import { ReportsController } from './reports/reports.controller';
import { ReportsService } from './reports/reports.service';
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
 * Memory-only without REDIS_URL; L1 + Redis with it. The AI module calls a simulated model unless
 * OPENAI_API_KEY is set. Everything is read when the app starts, so tests and scripts can set it.
 */
@Module({
  imports: [
    CacheModule.forRootAsync({
      useFactory: () => ({
        prefix: 'sample',
        ttl: '10m',
        grace: '1m',
        redis: process.env.REDIS_URL || undefined,
        caches: CACHES,
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
  controllers: [ReportsController],
  providers: [ReportsService],
})
export class AppModule {}
