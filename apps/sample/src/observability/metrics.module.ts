import { Module } from '@nestjs/common';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { MetricsController } from './metrics.controller';

/**
 * The app's own prom-client registry (not the process-wide default), handed to the cache through
 * `CacheModule.forRootAsync({ inject: [Registry], useFactory: (registry) => ({ metrics: { registry } }) })`.
 */
@Module({
  providers: [
    {
      provide: Registry,
      useFactory: () => {
        const registry = new Registry();
        collectDefaultMetrics({ register: registry, prefix: 'sample_' });
        return registry;
      },
    },
  ],
  controllers: [MetricsController],
  exports: [Registry],
})
export class MetricsModule {}
