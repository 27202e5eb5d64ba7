import { Module } from '@nestjs/common';
import { CacheModule } from '@strata/cache';
import { ReportsController } from './reports/reports.controller';
import { ReportsService } from './reports/reports.service';

/** Memory-only without REDIS_URL; L1 + Redis with it. */
@Module({
  imports: [
    CacheModule.forRootAsync({
      // Read when the app starts (not when this file is imported), so tests and scripts can set it.
      useFactory: () => ({
        prefix: 'sample',
        ttl: '10m',
        grace: '1m',
        redis: process.env.REDIS_URL || undefined,
        caches: { reports: { ttl: '30m' } },
      }),
      cacheNames: ['reports'],
    }),
  ],
  controllers: [ReportsController],
  providers: [ReportsService],
})
export class AppModule {}
