import { Test } from '@nestjs/testing';
import request from 'supertest';
import { CACHE_MANAGER, type Cache, CacheModule, StrataCacheManager } from '@strata/cache/compat';
import { StrataError } from '@strata/cache';
import { useRedis, waitFor } from '../../libs/cache/test/harness';
import { ASYNC_APPS, EXPECTED_TTL } from './scenarios/async-config/app.modules';
import { redisApp } from './scenarios/redis-stores/app.module';
import { PLATFORMS, type Platform, type RunningApp, startApp } from './scenarios/start-app';

/** The docs' "Async configuration" and "Using alternative Cache stores" examples, on Express and Fastify. */
describe.each<Platform>(PLATFORMS)('Async configuration and Keyv stores (%s)', (platform) => {
  const redis = useRedis();
  const running: RunningApp[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
  });
  const start = async (module: Parameters<typeof startApp>[1]) => {
    const app = await startApp(platform, module);
    running.push(app);
    return app;
  };

  it.each(Object.keys(ASYNC_APPS) as Array<keyof typeof ASYNC_APPS>)('registerAsync (%s) applies the ttl its options give, in ms', async (name) => {
    const app = await start(ASYNC_APPS[name]);
    const { body } = await request(app.url).get('/probe').expect(200);
    const ttl = EXPECTED_TTL[name];
    if (body.expires !== null) {
      expect(body.expires).toBeGreaterThanOrEqual(body.before + ttl);
      expect(body.expires).toBeLessThanOrEqual(Date.now() + ttl);
    } else {
      // Only a 5 ms ttl can have run out between the set and the ttl() read on a busy machine.
      expect(ttl).toBe(5);
    }
  });

  it('stores: [memory, @keyv/redis] → Strata L1 + Redis: two app instances share entries, and a del on one is seen by the other', async () => {
    const a = await start(redisApp(redis.url));
    const b = await start(redisApp(redis.url));
    await request(a.url).post('/store/shared').send({ value: { n: 1 } }).expect(201);
    expect((await request(b.url).get('/store/shared')).body.value).toEqual({ n: 1 });
    // The entry is in the harness Redis (Strata's keys, under the default namespace).
    expect(await redis.client().keys('*shared*')).toHaveLength(1);
    await request(a.url).delete('/store/shared').expect(200);
    await waitFor(async () => (await request(b.url).get('/store/shared')).body.value === null, { timeoutMs: 30_000, intervalMs: 20 });
    const manager = a.app.get<Cache>(CACHE_MANAGER);
    expect(manager).toBeInstanceOf(StrataCacheManager);
  });
});

describe('Options that cannot be mapped fail at startup with how to fix them', () => {
  it.each([
    [{ store: 'redis' }, /'store' is the cache-manager 5 option/],
    [{ max: 100 }, /option 'max' is not one cache-manager 7 reads/],
    [{ ttl: -1 }, /ttl is milliseconds/],
    [{ stores: [{ opts: { dialect: 'postgres' }, get() {}, set() {} }] }, /stores\[0\] \(Object\) is not a Keyv store/],
  ])('%j', (options, message) => {
    expect(() => CacheModule.register(options as never)).toThrow(StrataError);
    expect(() => CacheModule.register(options as never)).toThrow(message);
  });

  it('registerAsync: options from a factory are checked when the app starts', async () => {
    const builder = Test.createTestingModule({ imports: [CacheModule.registerAsync({ useFactory: () => ({ max: 100 }) as never })] });
    await expect(builder.compile()).rejects.toThrow(/option 'max' is not one cache-manager 7 reads/);
  });
});
