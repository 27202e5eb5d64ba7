import { Module } from '@nestjs/common';
import { CacheModule } from '@strata/cache/compat';
import { CallsModule } from '../start-app';
import { EventsController } from './events.controller';

@Module({
  imports: [CacheModule.register(), CallsModule],
  controllers: [EventsController],
})
export class AppModule {}
