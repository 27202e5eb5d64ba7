/**
 * The app `http.suite.ts` measures, in a process of its own (so autocannon and the server do not share
 * a thread): one Nest + Express app, three routes returning the same 1 KB JSON value:
 * `/constant` (no cache), `/strata` (Strata's CacheInterceptor, L1 hit) and `/cache-manager`
 * (@nestjs/cache-manager's CacheInterceptor with its default in-memory store). Sends its port to the parent.
 */
import 'reflect-metadata';
import { Controller, Get, Module, UseInterceptors } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CacheInterceptor as NestCacheInterceptor, CacheModule as NestCacheModule } from '@nestjs/cache-manager';
import { CacheInterceptor, CacheModule } from '@strata/cache';
import type { AddressInfo } from 'node:net';
import { oneKbValue } from '../lib';

const value = oneKbValue();

@Controller()
class BenchController {
  @Get('constant')
  constant() {
    return value;
  }

  @Get('strata')
  @UseInterceptors(CacheInterceptor)
  strata() {
    return value;
  }

  @Get('cache-manager')
  @UseInterceptors(NestCacheInterceptor)
  cacheManager() {
    return value;
  }
}

@Module({
  imports: [CacheModule.forRoot({ ttl: '10m', logger: { log() {}, warn() {}, error() {} } }), NestCacheModule.register({ ttl: 600_000 })],
  controllers: [BenchController],
})
class BenchModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(BenchModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  process.send?.({ port });
  // The parent asks for the CPU time this process used, to weigh each run by the server's own cost.
  process.on('message', (message) => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send?.({ cpu: user + system });
    }
  });
  process.on('disconnect', () => void app.close().then(() => process.exit(0)));
}

void main();
