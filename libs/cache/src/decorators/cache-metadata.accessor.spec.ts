import 'reflect-metadata';
import { type CallHandler, Controller, Get, Injectable, type NestInterceptor, Post, Sse, UseInterceptors } from '@nestjs/common';
import { NEST_METADATA } from './cache-metadata.accessor';

@Injectable()
class Passthrough implements NestInterceptor {
  intercept(_: unknown, next: CallHandler) {
    return next.handle();
  }
}

@Controller('probe')
@UseInterceptors(Passthrough)
class Probe {
  @Get(':id')
  read(): void {}

  @Post()
  write(): void {}

  @Sse('events')
  events(): void {}

  helper(): void {}
}

// The keys are Nest's (not exported from @nestjs/common's root): if a Nest release renames one, this fails first.
describe('NEST_METADATA', () => {
  it('names the keys Nest route decorators write', () => {
    for (const method of [Probe.prototype.read, Probe.prototype.write]) {
      expect(Reflect.hasOwnMetadata(NEST_METADATA.path, method)).toBe(true);
      expect(Reflect.hasOwnMetadata(NEST_METADATA.method, method)).toBe(true);
    }
    expect(Reflect.getMetadata(NEST_METADATA.path, Probe.prototype.read)).toBe(':id');
    expect(Reflect.hasOwnMetadata(NEST_METADATA.path, Probe.prototype.helper)).toBe(false);
  });

  it('names the keys of @UseInterceptors and @Sse', () => {
    expect(Reflect.getMetadata(NEST_METADATA.interceptors, Probe)).toEqual([Passthrough]);
    expect(Reflect.getMetadata(NEST_METADATA.sse, Probe.prototype.events)).toBe(true);
    expect(Reflect.getMetadata(NEST_METADATA.sse, Probe.prototype.read)).toBeUndefined();
  });
});
