import { Controller, Get, NotFoundException, Post, UseInterceptors } from '@nestjs/common';
import { CacheInterceptor } from '@strata/cache/compat';
import { Calls } from '../start-app';

/** "Auto-caching responses": the interceptor on a controller; only GET is cached. */
@Controller()
@UseInterceptors(CacheInterceptor)
export class AppController {
  constructor(private readonly calls: Calls) {}

  @Get()
  findAll(): string[] {
    return [`run ${this.calls.hit('findAll')}`];
  }

  @Get('items')
  items(): { items: string[] } {
    return { items: [`run ${this.calls.hit('items')}`] };
  }

  @Get('missing')
  missing(): never {
    this.calls.hit('missing');
    throw new NotFoundException('no such thing');
  }

  @Post()
  create(): string[] {
    return [`run ${this.calls.hit('create')}`];
  }
}
