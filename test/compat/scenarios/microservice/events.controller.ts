import { Controller, UseInterceptors } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { CacheInterceptor, CacheKey, CacheTTL } from '@strata/cache/compat';
import { Calls } from '../start-app';

/** "WebSockets and Microservices": the interceptor on microservice message patterns (TCP here; any transport). */
@Controller()
export class EventsController {
  constructor(private readonly calls: Calls) {}

  @CacheKey('events')
  @UseInterceptors(CacheInterceptor)
  @MessagePattern('events')
  handleEvent(@Payload() data: string[]): string[] {
    return [`run ${this.calls.hit('events')}`, ...data];
  }

  @CacheKey('short')
  @CacheTTL(30)
  @UseInterceptors(CacheInterceptor)
  @MessagePattern('short')
  handleShort(): string[] {
    return [`run ${this.calls.hit('short')}`];
  }
}
