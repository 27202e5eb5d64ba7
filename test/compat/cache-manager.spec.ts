import { Test, type TestingModule } from '@nestjs/testing';
import { createCache } from 'cache-manager';
import { CacheService, StrataError } from '@strata/cache';
import { CACHE_MANAGER, type Cache, Cache as CacheClass, CacheModule, StrataCacheManager } from '@strata/cache/compat';
import { useRedis, waitFor } from '../../libs/cache/test/harness';

type Api = Pick<Cache, 'get' | 'mget' | 'set' | 'mset' | 'del' | 'mdel' | 'clear' | 'wrap' | 'ttl'>;

/**
 * Every call of cache-manager 7's `Cache`, run against the real cache-manager (in memory) and against
 * the compat manager over Strata, with the same arguments: the answers must be the same. Then what
 * only the compat manager can be asked (copies, Strata underneath), memory only and with Redis.
 */
describe.each(['memory', 'redis'] as const)('compat Cache vs cache-manager 7 (%s)', (mode) => {
  const redis = mode === 'redis' ? useRedis() : undefined;
  let moduleRef: TestingModule;
  let strata: Cache;
  let real: Api;

  beforeEach(async () => {
    const stores = redis === undefined ? {} : { strata: { redis: { url: redis.url }, prefix: `cm${Date.now()}` } };
    moduleRef = await Test.createTestingModule({ imports: [CacheModule.register({ ttl: 60_000, ...stores })] }).compile();
    await moduleRef.init();
    strata = moduleRef.get<Cache>(CACHE_MANAGER);
    real = createCache({ ttl: 60_000 }) as unknown as Api;
  });
  afterEach(() => moduleRef.close());

  /** Runs `script` on both and expects equal results, step by step. */
  async function same(script: (cache: Api) => Promise<unknown[]>): Promise<unknown[]> {
    const expected = await script(real);
    const actual = await script(strata);
    expect(actual).toEqual(expected);
    return actual;
  }

  it('get / set (the value back) / del (true) / get of a missing key (undefined)', async () => {
    await same(async (c) => [await c.get('a'), await c.set('a', { n: 1 }), await c.get('a'), await c.del('a'), await c.get('a')]);
  });

  it('mset / mget (order kept, misses undefined) / mdel', async () => {
    await same(async (c) => [
      await c.mset<number | string>([{ key: 'x', value: 1 }, { key: 'y', value: 'two', ttl: 5000 }]),
      await c.mget(['x', 'missing', 'y']),
      await c.mdel(['x', 'y']),
      await c.mget(['x', 'y']),
    ]);
  });

  it('clear() (true) drops everything', async () => {
    await same(async (c) => [await c.set('p', 1), await c.set('q', 2), await c.clear(), await c.mget(['p', 'q'])]);
  });

  it('wrap: a miss runs fn and stores its value; a hit returns it without running fn; ttl as a function of the value', async () => {
    const results = await same(async (c) => {
      let runs = 0;
      const fn = async () => ({ run: ++runs });
      return [await c.wrap('w', fn), await c.wrap('w', fn), runs, await c.wrap('f', fn, (value: { run: number }) => value.run * 1000), runs];
    });
    expect(results[2]).toBe(1);
  });

  it('ttl(key): the expiry in epoch ms; undefined for a missing key and for ttl 0 (no expiry)', async () => {
    const before = Date.now();
    for (const c of [real, strata]) {
      await c.set('t', 1, 10_000);
      await c.set('forever', 1, 0);
    }
    for (const c of [real, strata]) {
      const expires = await c.ttl('t');
      expect(expires).toBeGreaterThanOrEqual(before + 10_000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 10_000);
      expect(await c.ttl('forever')).toBeUndefined();
      expect(await c.ttl('missing')).toBeUndefined();
      expect(await c.get('forever')).toBe(1);
    }
  });

  it('wrap with raw: true resolves { value, expires }', async () => {
    const before = Date.now();
    for (const c of [real, strata]) {
      const raw = await c.wrap('r', async () => 'v', { ttl: 20_000, raw: true });
      expect(raw.value).toBe('v');
      expect(raw.expires).toBeGreaterThanOrEqual(before + 20_000);
      const again = await c.wrap('r', async () => 'other', { ttl: 20_000, raw: true });
      expect(again.value).toBe('v');
    }
  });

  it('wrap with refreshThreshold: a hit with less time left returns the old value and refreshes it in the background (a refresh event)', async () => {
    const manager = strata as StrataCacheManager;
    const refreshed: unknown[] = [];
    manager.on('refresh', ({ value }) => refreshed.push(value));
    await manager.wrap('rt', async () => 'first', 60_000);
    expect(await manager.wrap('rt', async () => 'second', 60_000, 120_000)).toBe('first');
    await waitFor(() => refreshed.length === 1);
    expect(refreshed).toEqual(['second']);
    expect(await manager.get('rt')).toBe('second');
  });

  it('events: get, set, del, mget, mset, mdel, clear with their payloads; off() stops them', async () => {
    const seen: Array<[string, unknown]> = [];
    const listeners = Object.fromEntries(
      (['get', 'set', 'del', 'mget', 'mset', 'mdel', 'clear'] as const).map((event) => [event, (data: unknown) => seen.push([event, data])]),
    );
    for (const [event, listener] of Object.entries(listeners)) strata.on(event as 'get', listener as never);
    await strata.set('e', 1);
    await strata.get('e');
    await strata.mget(['e']);
    await strata.mset([{ key: 'f', value: 2 }]);
    await strata.del('e');
    await strata.mdel(['f']);
    await strata.clear();
    expect(seen).toEqual([
      ['set', { key: 'e', value: 1 }],
      ['get', { key: 'e', value: 1 }],
      ['mget', { keys: ['e'], values: [1] }],
      ['mset', { list: [{ key: 'f', value: 2, ttl: 60_000 }] }],
      ['del', { key: 'e' }],
      ['mdel', { keys: ['f'] }],
      ['clear', undefined],
    ]);
    for (const [event, listener] of Object.entries(listeners)) strata.off(event as 'get', listener as never);
    await strata.set('e', 1);
    expect(seen).toHaveLength(7);
  });

  it('a value that cannot be stored: set resolves with it, is not cached, and its set event carries a StrataError', async () => {
    const errors: unknown[] = [];
    strata.on('set', ({ error }) => errors.push(error));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(strata.set('bad', circular)).resolves.toBe(circular);
    expect(await strata.get('bad')).toBeUndefined();
    expect(errors).toEqual([expect.any(StrataError)]);
  });

  it('a negative or non-numeric ttl is refused with how to fix it', async () => {
    await expect(strata.set('k', 1, -5)).rejects.toThrow(/milliseconds, 0 for no expiry/);
  });

  it('values read back are copies: changing one changes neither the cache nor another reader', async () => {
    await strata.set('doc', { tags: ['a'], nested: { n: 1 } });
    const first = (await strata.get<{ tags: string[]; nested: { n: number } }>('doc'))!;
    first.tags.push('b');
    first.nested.n = 2;
    expect(await strata.get('doc')).toEqual({ tags: ['a'], nested: { n: 1 } });
    const [many] = await strata.mget<{ tags: string[] }>(['doc']);
    many!.tags.push('c');
    const wrapped = await strata.wrap('doc', async () => ({ tags: [] as string[], nested: { n: 0 } }));
    wrapped.tags.push('d');
    expect(await strata.get('doc')).toEqual({ tags: ['a'], nested: { n: 1 } });
  });

  it('is Strata underneath: the same entry through CacheService, and stores[0] is a Keyv over it', async () => {
    await strata.set('shared', 'v');
    expect(await moduleRef.get(CacheService).get('shared')).toBe('v');
    await moduleRef.get(CacheService).set('from-strata', 'w');
    expect(await strata.get('from-strata')).toBe('w');
    const [keyv] = strata.stores;
    await keyv.set('via-keyv', 42);
    expect(await keyv.get('via-keyv')).toBe(42);
    expect(strata.cacheId()).toEqual(expect.any(String));
    // The `Cache` class is a token too, as in @nestjs/cache-manager: `constructor(private cache: Cache)`.
    expect(moduleRef.get(CacheClass)).toBe(strata);
    await expect(strata.disconnect()).resolves.toBeUndefined();
  });
});
