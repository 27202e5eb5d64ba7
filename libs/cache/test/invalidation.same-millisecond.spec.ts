import { CacheFactory } from './cache-factory';
import { useRedis } from './harness';

/**
 * Writes and invalidations within one millisecond (the clock frozen): a write made after a `clear()` is
 * kept, and a `clear()` made after a write drops it, however many times they alternate (Keyv's own
 * suite does this: clear in beforeEach, set, clear again). Memory only and with Redis.
 */
describe.each(['memory', 'redis'] as const)('clear() and writes in the same millisecond (%s)', (mode) => {
  const redis = mode === 'redis' ? useRedis() : undefined;
  const factory = new CacheFactory();
  afterEach(() => factory.closeAll());

  it('alternating set/clear/set/getMany 20 times in one frozen millisecond', async () => {
    const { cache } = await factory.create(
      { ...(redis === undefined ? {} : { redis: { url: redis.url } }), prefix: `samems-${mode}`, metrics: false, advice: false },
      { fakeClock: true },
    );
    for (let round = 0; round < 20; round++) {
      await cache.set('a', round);
      expect(await cache.get('a')).toBe(round);
      await cache.clear();
      expect(await cache.get('a')).toBeUndefined();
      await cache.set('b', round);
      // getMany answers one slot per key, misses included (a dense array).
      const values = await cache.getMany(['a', 'b']);
      expect(values).toHaveLength(2);
      expect(Object.keys(values)).toEqual(['0', '1']);
      expect(values).toEqual([undefined, round]);
      await cache.clear();
    }
  });
});
