import { Test } from '@nestjs/testing';
import { CACHE_CLOCK, CacheModule, CacheService, InvalidOptionError } from '..';
import { ManualClock } from '.';

describe('ManualClock', () => {
  it('drives the cache: an entry expires when the clock passes its TTL, without waiting', async () => {
    const clock = new ManualClock(1_000_000);
    const moduleRef = await Test.createTestingModule({ imports: [CacheModule.forRoot({ ttl: '1m' })] })
      .overrideProvider(CACHE_CLOCK)
      .useValue(clock.read)
      .compile();
    const app = await moduleRef.init();
    try {
      const cache = app.get(CacheService);
      await cache.set('k', 'v');
      clock.advance('59s');
      expect(await cache.get('k')).toBe('v');
      clock.advance('2m');
      expect(await cache.get('k')).toBeUndefined();
      expect(clock.now).toBe(1_000_000 + 59_000 + 120_000);
    } finally {
      await app.close();
    }
  });

  it('rejects a negative or unreadable step with the fix in the message', () => {
    const clock = new ManualClock();
    expect(() => clock.advance(-1)).toThrow(InvalidOptionError);
    expect(() => clock.advance('soon' as never)).toThrow(/e\.g\. 60_000 or '1m'/);
  });
});
