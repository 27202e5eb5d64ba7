import type { INestApplication, Provider, Type } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { CACHE_CLOCK, CacheModule, type CacheModuleOptions } from '@strata/cache';
import type { Server } from 'node:http';
import { ScenarioAuthGuard } from './scenario.guard';
import type { Platform } from './scenario.controllers';

export interface ScenarioApp {
  app: INestApplication;
  server: Server;
  clock: { now: number; advance(ms: number): void };
  close(): Promise<void>;
}

const silent = { log() {}, warn() {}, error() {} };

/** A Nest app over real HTTP (listening on a free loopback port) on the chosen platform, with a fake cache clock. */
export async function startScenario(
  platform: Platform,
  options: CacheModuleOptions,
  parts: { controllers: Type<unknown>[]; providers?: Provider[] },
): Promise<ScenarioApp> {
  const clock = {
    now: Date.now(),
    advance(ms: number) {
      this.now += ms;
    },
  };
  const moduleRef = await Test.createTestingModule({
    imports: [CacheModule.forRoot({ logger: silent, ...options })],
    controllers: parts.controllers,
    providers: [{ provide: APP_GUARD, useClass: ScenarioAuthGuard }, ...(parts.providers ?? [])],
  })
    .overrideProvider(CACHE_CLOCK)
    .useValue(() => clock.now)
    .compile();
  const app = moduleRef.createNestApplication(platform === 'express' ? new ExpressAdapter() : new FastifyAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, server: app.getHttpServer() as Server, clock, close: () => app.close() };
}
