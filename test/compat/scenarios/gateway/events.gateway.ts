import { UseInterceptors } from '@nestjs/common';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { CacheInterceptor, CacheKey, CacheTTL } from '@strata/cache/compat';
import { Calls } from '../start-app';

/** "WebSockets and Microservices": the interceptor on gateway subscribers. */
@WebSocketGateway()
export class EventsGateway {
  constructor(private readonly calls: Calls) {}

  @CacheKey('events')
  @UseInterceptors(CacheInterceptor)
  @SubscribeMessage('events')
  handleEvent(@MessageBody() data: string[]): string[] {
    return [`run ${this.calls.hit('events')}`, ...data];
  }

  /** The docs' second example: `@CacheTTL(10)` alone. With no `@CacheKey` there is no key, so nothing is cached (as in cache-manager). */
  @CacheTTL(10)
  @UseInterceptors(CacheInterceptor)
  @SubscribeMessage('uncached')
  handleUncached(@MessageBody() data: string[]): string[] {
    return [`run ${this.calls.hit('uncached')}`, ...data];
  }
}
