import { Module } from '@nestjs/common';
import { CacheModule } from '@strata/cache/compat';
import { CallsModule } from '../start-app';
import { AppController } from './app.controller';

@Module({
  imports: [CacheModule.register(), CallsModule],
  controllers: [AppController],
})
export class AppModule {}
