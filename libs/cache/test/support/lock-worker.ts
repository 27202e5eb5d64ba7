/**
 * A child process for the multi-process lock spec: one Nest application context with the cache on the
 * Redis in REDIS_URL. The parent drives it over IPC:
 *   → { type: 'run', key, callers, factory: { ms } | 'controlled' }
 *   ← { type: 'factory-start', at, holder }  when this process's factory starts (at = Date.now(); holder: under the lock)
 *   → { type: 'finish', value }               ends a 'controlled' factory
 *   ← { type: 'done', runs, values, lock }    when every caller has its value (runs and lock stats of this command)
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';
import { CacheModule, CacheService } from '../../src';

type Command =
  | { type: 'run'; key: string; callers: number; factory: { ms: number } | 'controlled' }
  | { type: 'finish'; value: string }
  | { type: 'exit' };

const send = (message: object) => process.send?.(message);

async function main(): Promise<void> {
  @Module({
    imports: [
      CacheModule.forRoot({
        redis: process.env.REDIS_URL,
        prefix: process.env.PREFIX ?? 'locks',
        lock: { ttl: Number(process.env.LOCK_TTL ?? 10_000), pollInterval: 50 },
        logger: { log() {}, warn() {}, error() {} },
      }),
    ],
  })
  class WorkerModule {}

  const app = await NestFactory.createApplicationContext(WorkerModule, { logger: false });
  const cache = app.get(CacheService);
  let finish: ((value: string) => void) | undefined;
  let runs = 0;

  process.on('message', (command: Command) => {
    if (command.type === 'finish') finish?.(command.value);
    if (command.type === 'exit') void app.close().then(() => process.exit(0));
    if (command.type !== 'run') return;
    runs = 0;
    const before = cache.stats().lock;
    const factory = async (): Promise<string> => {
      runs += 1;
      // Whether this run holds the lock (the counter moves just before the factory starts) or runs without it.
      send({ type: 'factory-start', at: Date.now(), holder: cache.stats().lock.acquired > before.acquired });
      if (command.factory === 'controlled') return new Promise<string>((resolve) => (finish = resolve));
      await new Promise((resolve) => setTimeout(resolve, (command.factory as { ms: number }).ms));
      return `value-from-${process.pid}`;
    };
    void Promise.all(Array.from({ length: command.callers }, () => cache.getOrSet(command.key, factory))).then((values) =>
      send({ type: 'done', runs, values: [...new Set(values)], lock: delta(before, cache.stats().lock) }),
    );
  });
  send({ type: 'ready' });
}

function delta<T extends Record<string, number>>(before: T, after: T): T {
  return Object.fromEntries(Object.entries(after).map(([name, value]) => [name, value - before[name]])) as T;
}

void main();
