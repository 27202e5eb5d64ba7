import { Global, type INestApplication, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';

export type Platform = 'express' | 'fastify';
export const PLATFORMS: Platform[] = ['express', 'fastify'];

export interface RunningApp {
  readonly app: INestApplication;
  /** `http://127.0.0.1:<port>` of the listening server. */
  readonly url: string;
  close(): Promise<void>;
}

/** Boots a scenario's root module on Express or Fastify, listening on a free port (`listen(0)`). */
export async function startApp(platform: Platform, module: Type<unknown>, before?: (app: INestApplication) => void | Promise<void>): Promise<RunningApp> {
  const app =
    platform === 'express'
      ? await NestFactory.create(module, { logger: false })
      : await NestFactory.create(module, new FastifyAdapter(), { logger: false });
  await before?.(app);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  return { app, url, close: () => app.close() };
}

/** How many times each handler ran (the scenarios' handlers count themselves). */
export class Calls {
  private readonly counts = new Map<string, number>();
  hit(name: string): number {
    const n = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, n);
    return n;
  }
  of(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

/** Makes `Calls` injectable in every module of a scenario. */
@Global()
@Module({ providers: [Calls], exports: [Calls] })
export class CallsModule {}
