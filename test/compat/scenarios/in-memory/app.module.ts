import { Module } from '@nestjs/common';
import { CacheModule } from '@strata/cache/compat';
import { AppController } from './app.controller';

/** "In-memory cache": `CacheModule.register()`, nothing else. */
@Module({
  imports: [CacheModule.register()],
  controllers: [AppController],
})
export class AppModule {}
