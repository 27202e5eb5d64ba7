import { Test } from '@nestjs/testing';
import { CACHE_CLOCK, CacheModule, CacheService } from '../src';
import * as ai from '../src/ai';
import * as compat from '../src/compat';
import * as root from '../src';
import * as testing from '../src/testing';
import { ManualClock, inspectCache } from '../src/testing';

/** `inspectCache(app)` (`@strata/cache/testing`): what a test may drive or read beyond the public API. */
describe('CacheInspector', () => {
  it('settled() waits for a background refresh; the README example', async () => {
    const clock = new ManualClock();
    const moduleRef = await Test.createTestingModule({ imports: [CacheModule.forRoot({ ttl: '10s' })] })
      .overrideProvider(CACHE_CLOCK)
      .useValue(clock.read)
      .compile();
    const app = await moduleRef.init();
    try {
      const cache = app.get(CacheService);
      const inspector = inspectCache(app);
      await cache.getOrSet('k', () => 'v1');
      clock.advance(9_500);
      expect(await cache.getOrSet('k', () => 'v2')).toBe('v1');
      await inspector.settled();
      expect(await cache.get('k')).toBe('v2');
      expect(cache.stats().refreshes.ahead).toBe(1);
      expect(inspector.l1Keys()).toEqual([cache.keyOf('k')]);
      expect(inspector.servesL1).toBe(true);
      expect(inspector.redisQueues()).toBeUndefined(); // no Redis
      expect(inspector.instanceId).toMatch(/^[0-9a-f-]{36}$/);
      expect(await inspector.pollSchedule()).toBe(0);
      expect(inspector.warmNow()).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('no entry point exports the stack or the engine parts: apps and tests go through the public API and this inspector', () => {
    const internals = ['CacheStack', 'TieredCache', 'L2Facade', 'MemoryTier', 'InvalidationBus', 'L1Coherence', 'RedisAdapters', 'RedisStore', 'CacheExplorer', 'CacheMetadataAccessor', 'CACHEABLE_METADATA'];
    for (const entry of [root, ai, compat, testing]) expect(Object.keys(entry).filter((name) => internals.includes(name))).toEqual([]);
  });
});
