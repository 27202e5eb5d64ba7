import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CacheModule, CacheService, InjectCache, InvalidOptionError, type CacheModuleOptions } from '../src';
import { resolveOptions } from '../src/cache.options';
import { useRedis } from './harness';
import { CacheFactory } from './cache-factory';

describe('CacheModule', () => {
  const apps = new CacheFactory();
  afterEach(() => apps.closeAll());

  describe('memory only (no redis option)', () => {
    it('caches in process with every CacheService method', async () => {
      const { cache } = await apps.create({});
      expect(cache.stats().l2.state).toBe('disabled');
      await cache.set('a', { x: 1 }, { tags: ['t'] });
      expect(await cache.get('a')).toEqual({ x: 1 });
      expect(await cache.has('a')).toBe(true);
      let runs = 0;
      const results = await Promise.all(Array.from({ length: 100 }, () => cache.getOrSet('b', async () => ++runs)));
      expect(new Set(results)).toEqual(new Set([1]));
      await cache.setMany([{ key: 'c', value: 3 }, { key: 'd', value: 4 }]);
      expect(await cache.getMany(['a', 'c', 'd', 'e'])).toEqual([{ x: 1 }, 3, 4, undefined]);
      expect(await cache.increment('n')).toBe(1);
      expect(await cache.increment('n', 5)).toBe(6);
      await cache.invalidateTags(['t']);
      expect(await cache.get('a')).toBeUndefined();
      await cache.delete(['c']);
      expect(await cache.get('c')).toBeUndefined();
      await cache.clear();
      expect(await cache.get('d')).toBeUndefined();
      expect(cache.stats().l1.entries).toBeGreaterThan(0);
    });

    it('returns frozen values from L1 so callers cannot change them for each other', async () => {
      const { cache } = await apps.create({});
      await cache.set('obj', { list: [1, 2] });
      const a = await cache.get<{ list: number[] }>('obj');
      expect(() => a!.list.push(3)).toThrow(TypeError);
      expect(await cache.get('obj')).toEqual({ list: [1, 2] });
    });

    it('hands out getEntry as a frozen copy of the value, times and tags: changing it changes nothing cached', async () => {
      const { cache } = await apps.create({});
      await cache.set('obj', { list: [1, 2] }, { ttl: '1m', tags: ['t'] });
      await cache.get('obj'); // in L1
      const entry = await cache.getEntry<{ list: number[] }>('obj');
      expect(Object.keys(entry!).sort()).toEqual(['createdAt', 'expiresAt', 'staleUntil', 'tags', 'value']);
      expect(Object.isFrozen(entry)).toBe(true);
      expect(() => ((entry as { expiresAt: number }).expiresAt = 0)).toThrow(TypeError);
      expect(await cache.get('obj')).toEqual({ list: [1, 2] });
      expect((await cache.getEntry('obj'))!.expiresAt).toBe(entry!.expiresAt);
    });
  });

  describe('forRootAsync', () => {
    const redis = useRedis();

    @Injectable()
    class Settings {
      get(): CacheModuleOptions {
        return { redis: redis.url, ttl: '1m', prefix: 'async', caches: { ai: { ttl: '1h' } } };
      }
    }
    @Module({ providers: [Settings], exports: [Settings] })
    class SettingsModule {}

    @Injectable()
    class AiService {
      constructor(
        readonly cache: CacheService,
        @InjectCache('ai') readonly ai: CacheService,
      ) {}
    }

    it('builds the module from injected config, with named caches listed in cacheNames', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          CacheModule.forRootAsync({
            imports: [SettingsModule],
            inject: [Settings],
            useFactory: (settings: Settings) => settings.get(),
            cacheNames: ['ai'],
          }),
        ],
        providers: [AiService],
      }).compile();
      const app = await moduleRef.init();
      try {
        const service = app.get(AiService);
        await service.ai.set('q', 'answer');
        expect(await service.ai.get('q')).toBe('answer');
        expect(service.ai.keyOf('q')).toBe('async:default:ai:q');
        expect(await service.cache.get('q')).toBeUndefined();
      } finally {
        await app.close();
      }
    });
  });

  describe('option validation', () => {
    it.each<[string, CacheModuleOptions, RegExp]>([
      ['a negative ttl', { ttl: -1 }, /ttl must be a positive duration, e.g. 60_000 or '1m'/],
      ['a ttl string it cannot read', { ttl: '5 minutes please' as never }, /ttl must be a positive duration/],
      ['a negative grace', { grace: -5 }, /grace must be a duration of zero or more/],
      ['an unknown option', { tll: '5m' } as never, /unknown option 'tll'/],
      ['a redis URL without a scheme', { redis: '127.0.0.1:6379' }, /redis must be a URL like 'redis:\/\/127.0.0.1:6379'/],
      ['memory off and no redis', { memory: false }, /memory: false needs a redis connection/],
      ['memory maxBytes of zero', { memory: { maxBytes: 0 } }, /memory.maxBytes must be a positive whole number/],
      ['a named cache using redis without redis', { caches: { ai: { tiers: ['redis'] } } }, /caches.ai.tiers names 'redis' but no redis connection/],
      ['a named cache with a bad ttl', { caches: { ai: { ttl: 0 } } }, /caches.ai.ttl must be a positive duration/],
      ['an unknown named cache option', { caches: { ai: { tll: 1 } as never } }, /unknown option 'caches.ai.tll'/],
      ['an empty sentinel list', { redis: { sentinels: [], name: 'm' } }, /sentinels/],
      ['an empty cluster', { redis: { cluster: [] } }, /redis.cluster must list at least one node/],
      ['a non-boolean strict', { strict: 'yes' as never }, /strict must be true or false/],
      ['a lock that is neither a boolean nor options', { redis: 'redis://127.0.0.1:6379', lock: 'on' as never }, /lock must be true, false or \{ ttl\?, pollInterval\? \}/],
      ['an unknown compression codec', { compression: 'zstd' as never }, /compression must be 'lz4' or 'brotli', got/],
      ['an unknown compression codec of a named cache', { caches: { docs: { compression: 'gzip' as never } } }, /caches.docs.compression must be 'lz4' or 'brotli'/],
      ['an ioredis keyPrefix', { redis: { host: '127.0.0.1', keyPrefix: 'app:' } }, /keyPrefix "app:" is not supported.*remove keyPrefix.*prefix: "app"/],
      ['an ioredis keyPrefix with a URL', { redis: { url: 'redis://127.0.0.1', options: { keyPrefix: 'x' } } }, /keyPrefix "x" is not supported/],
      ['an ioredis keyPrefix on a Cluster', { redis: { cluster: [{ host: 'h', port: 1 }], options: { redisOptions: { keyPrefix: 'c:' } } } }, /keyPrefix "c:"/],
      ['a client with a keyPrefix', { redis: { client: { options: { keyPrefix: 'k:' } } as never } }, /keyPrefix "k:".*client.duplicate\(\{ keyPrefix: '' \}\)/],
    ])('rejects %s with a message that says how to fix it', (_label, options, message) => {
      expect(() => resolveOptions(options)).toThrow(InvalidOptionError);
      expect(() => resolveOptions(options)).toThrow(message);
    });

    it('reads lock: true as the default lock, and false as none', () => {
      const redis = 'redis://127.0.0.1:6379';
      expect(resolveOptions({ redis, lock: true }).lock).toEqual({ ttl: 10_000, pollInterval: 100 });
      expect(resolveOptions({ redis, lock: true }).lock).toEqual(resolveOptions({ redis }).lock);
      expect(resolveOptions({ redis, lock: false }).lock).toBeUndefined();
      expect(resolveOptions({ lock: true }).lock).toBeUndefined(); // no Redis: nothing to lock across
    });

    it('fills in the documented defaults', () => {
      const resolved = resolveOptions({});
      expect(resolved).toMatchObject({
        prefix: 'strata',
        namespace: 'default',
        ttl: 300_000,
        grace: 0,
        memory: { maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 },
        commandTimeout: 250,
        connectTimeout: 2000,
        failureThreshold: 3,
        probeInterval: 500,
        compressThreshold: 1024,
        compression: 'lz4',
        maxValueBytes: 8 * 1024 * 1024,
        maxKeyLength: 200,
        hashKeys: false,
        strict: false,
      });
      expect(resolved.redis).toBeUndefined();
    });
  });
});
