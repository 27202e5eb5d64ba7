import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { CacheModule } from '@strata/cache';
import { CatalogController, ProductsController } from './products.controller.js';
import { ProductsService } from './products.service.js';

/** Options from the environment through ConfigService: memory only, or with Redis when REDIS_URL is set. */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    CacheModule.forRootAsync({
      inject: [ConfigService],
      cacheNames: ['products'],
      useFactory: (config: ConfigService) => ({
        ttl: '1m',
        prefix: config.get<string>('CACHE_PREFIX') ?? 'consumer',
        redis: config.get<string>('REDIS_URL'),
        caches: { products: { ttl: '5m' } },
      }),
    }),
  ],
  controllers: [ProductsController, CatalogController],
  providers: [ProductsService],
})
export class AppModule {}
