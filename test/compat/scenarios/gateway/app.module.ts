import { Module } from '@nestjs/common';
import { CacheModule } from '@strata/cache/compat';
import { CallsModule } from '../start-app';
import { EventsGateway } from './events.gateway';

@Module({
  imports: [CacheModule.register(), CallsModule],
  providers: [EventsGateway],
})
export class AppModule {}
