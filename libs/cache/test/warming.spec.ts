import { useRedis, waitFor } from './harness';
import { CacheFactory } from './cache-factory';

/** Warming: `warm()`, refresh-ahead and predictive warming, on real Redis, with the injectable clock. */
describe('Warming', () => {
  const redis = useRedis();
  const apps = new CacheFactory();
  let n = 0;
  const prefix = () => `warm${++n}`;

  afterEach(() => apps.closeAll());

  it('warm() fills what is missing, leaves what is fresh, reports failures, bounds concurrency, and can force', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const b = await apps.create({ redis: redis.url, prefix: p });
    await a.cache.set('cached', 'already');
    let inFlight = 0;
    let most = 0;
    const slow = (value: string) => async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      return value;
    };
    const result = await a.cache.warm(
      [
        { key: 'cached', factory: slow('recomputed') },
        ...Array.from({ length: 8 }, (_, i) => ({ key: `r:${i}`, factory: slow(`report ${i}`), tags: ['reports'] })),
        { key: 'v', value: { plain: true } },
        { key: 'bad', factory: () => Promise.reject(new Error('upstream down')) },
      ],
      { concurrency: 3 },
    );
    expect(result.warmed).toBe(9);
    expect(result.fresh).toBe(1);
    expect(result.failed).toEqual([{ key: 'bad', error: new Error('upstream down') }]);
    expect(most).toBeLessThanOrEqual(3);
    expect(await b.cache.getMany(['cached', 'r:7', 'v'])).toEqual(['already', 'report 7', { plain: true }]);
    const forced = await a.cache.warm([{ key: 'cached', factory: () => 'recomputed' }], { force: true });
    expect(forced).toMatchObject({ warmed: 1, fresh: 0 });
    await waitFor(async () => (await b.cache.get('cached')) === 'recomputed', { message: 'B to drop its old copy' });
    await a.cache.invalidateTags(['reports']);
    expect(await a.cache.get('r:0')).toBeUndefined();
    await expect(a.cache.warm([], { concurrency: 0 })).rejects.toThrow(/concurrency/);
  });

  it('warm() takes an async iterable, pulled a few entries at a time; a malformed entry fails alone; a source that throws rejects', async () => {
    const { cache } = await apps.create({ prefix: prefix() });
    let pulled = 0;
    let stored = 0;
    let mostAhead = 0;
    async function* source(name: string, count: number, thenThrow = false) {
      for (let i = 0; i < count; i++) {
        pulled += 1;
        mostAhead = Math.max(mostAhead, pulled - stored);
        yield { key: `${name}:${i}`, factory: async () => (await new Promise((resolve) => setImmediate(resolve)), ++stored) };
      }
      if (thenThrow) throw new Error('cursor lost');
    }
    const result = await cache.warm(source('s', 500), { concurrency: 3 });
    expect(result).toEqual({ warmed: 500, fresh: 0, failed: [] });
    expect(mostAhead).toBeLessThanOrEqual(4); // 3 in flight and the one being produced
    const mixed = await cache.warm([{ key: 'good', value: 1 }, { nokey: true } as never, { key: 'k' } as never]);
    expect(mixed.warmed).toBe(1);
    expect(mixed.failed.map((f) => [f.key, (f.error as Error).message])).toEqual([
      ['undefined', 'Strata cache: a warm entry must be { key, factory } or { key, value } with a string key; got an object with nokey'],
      ['k', 'Strata cache: a warm entry must be { key, factory } or { key, value } with a string key; got an object with key'],
    ]);
    await expect(cache.warm(source('t', 3, true))).rejects.toThrow('cursor lost');
    expect((await cache.getMany<number>(['t:0', 't:1', 't:2'])).sort()).toEqual([501, 502, 503]); // the entries before the throw were warmed
  });

  describe.each([
    ['refresh-ahead on (default: the last 10%)', {}, 0],
    ['refresh-ahead off (control)', { refreshAhead: false as const }, 6],
  ])('%s: a key read at a steady rate through 6 TTLs', (_title, options, expectedMisses) => {
    it(expectedMisses === 0 ? 'never misses after the first fill' : 'misses once per TTL', async () => {
      const { cache, clock, inspector } = await apps.create({ redis: redis.url, prefix: prefix(), ttl: '10s', ...options }, { fakeClock: true });
      let runs = 0;
      const factory = async () => `v${++runs}`;
      const misses = () => cache.stats().misses;
      expect(await cache.getOrSet('hot', factory)).toBe('v1');
      const afterFill = misses();
      const seen = new Set<string>();
      // 6 TTLs, one read every 250 ms of the cache's clock (4 reads in the last 10%).
      for (let i = 0; i < 240; i++) {
        clock.advance(250);
        seen.add(await cache.getOrSet('hot', factory));
        await inspector.settled(); // a refresh started by this read has landed before the next one
      }
      expect(misses() - afterFill).toBe(expectedMisses);
      if (expectedMisses === 0) {
        expect(cache.stats().refreshes.ahead).toBeGreaterThanOrEqual(5);
        expect(seen.size).toBeGreaterThanOrEqual(6); // it was refreshed, not served forever
      }
    });
  });

  it('refresh-ahead in real time: two instances reading every 10 ms through 4 TTLs of 1 s never miss after the first fill', async () => {
    const p = prefix();
    // The refresh starts in the last half of the TTL: it has 500 ms to land, so a busy machine's stall of a
    // few hundred ms (two shared cores, other suites) does not turn into a miss.
    const options = { redis: redis.url, prefix: p, ttl: 1000, refreshAhead: 0.5 };
    const a = await apps.create(options);
    const b = await apps.create(options);
    let runs = 0;
    const factory = async () => {
      await new Promise((resolve) => setTimeout(resolve, 5)); // an upstream call
      return ++runs;
    };
    await a.cache.getOrSet('hot', factory);
    const missesAfterFill = a.cache.stats().misses + b.cache.stats().misses;
    const start = performance.now();
    let reads = 0;
    while (performance.now() - start < 4000) {
      await Promise.all([a.cache.getOrSet('hot', factory), b.cache.getOrSet('hot', factory)]);
      reads += 2;
      await new Promise((resolve) => setTimeout(resolve, 10)); // the steady read rate
    }
    const misses = a.cache.stats().misses + b.cache.stats().misses - missesAfterFill;
    process.stdout.write(`refresh-ahead, real time: ${reads} reads over 4 s (4 TTLs), ${misses} misses, ${runs - 1} refreshes\n`);
    expect(misses).toBe(0);
    expect(runs).toBeGreaterThanOrEqual(4);
  });

  it('refresh-ahead: one refresh per key, and an instance takes a newer entry from Redis instead of running the factory', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p, ttl: '10s' }, { fakeClock: true });
    const b = await apps.create({ redis: redis.url, prefix: p, ttl: '10s' }, { fakeClock: true });
    b.clock.now = a.clock.now;
    let runs = 0;
    let release!: () => void;
    let gate: Promise<void> = Promise.resolve();
    const factory = async () => {
      runs += 1;
      await gate;
      return `v${runs}`;
    };
    expect(await a.cache.getOrSet('k', factory)).toBe('v1');
    expect(await b.cache.getOrSet('k', factory)).toBe('v1'); // from Redis
    a.clock.advance(9_500);
    b.clock.advance(9_500);
    gate = new Promise<void>((resolve) => (release = resolve));
    await Promise.all(Array.from({ length: 20 }, () => a.cache.getOrSet('k', factory)));
    await waitFor(() => runs === 2, { message: 'the refresh to run the factory' });
    expect(a.cache.stats().refreshes.ahead).toBe(1); // 20 reads in the window, one refresh
    release();
    await a.inspector.settled();
    expect(await b.cache.getOrSet('k', factory)).toBe('v1'); // B's L1 copy, still fresh for it
    await b.inspector.settled();
    expect(runs).toBe(2); // B found A's refresh in Redis
    expect(await b.cache.get('k')).toBe('v2');
  });

  it('predictive warming refreshes often-read keys before they expire, at most maxRefreshes a tick', async () => {
    const { cache, clock, inspector } = await apps.create(
      // A long interval: the test drives the ticks itself.
      { redis: redis.url, prefix: prefix(), ttl: '10s', refreshAhead: false, warming: { interval: '1h', minReads: 3, maxRefreshes: 2 } },
      { fakeClock: true },
    );
    const runs = new Map<string, number>();
    const factory = (key: string) => async () => {
      runs.set(key, (runs.get(key) ?? 0) + 1);
      return `${key}@${runs.get(key)}`;
    };
    for (const key of ['hot1', 'hot2', 'hot3', 'cold']) await cache.getOrSet(key, factory(key));
    for (let i = 0; i < 5; i++) for (const key of ['hot1', 'hot2', 'hot3']) await cache.getOrSet(key, factory(key));
    clock.advance(9_000); // close to the end of the first fills' TTL
    expect(inspector.warmNow()).toBe(2); // the bound
    await inspector.settled();
    expect(inspector.warmNow()).toBe(1); // the third hot key; the two refreshed need new reads first
    await inspector.settled();
    expect(inspector.warmNow()).toBe(0);
    expect(cache.stats().refreshes.predictive).toBe(3);
    clock.advance(1_500); // past the first fills' expiry
    const missesBefore = cache.stats().misses;
    for (const key of ['hot1', 'hot2', 'hot3']) expect(await cache.getOrSet(key, factory(key))).toBe(`${key}@2`);
    expect(cache.stats().misses).toBe(missesBefore); // no hot key missed
    expect(await cache.getOrSet('cold', factory('cold'))).toBe('cold@2'); // the cold one did
    expect(cache.stats().misses).toBe(missesBefore + 1);
  });
});
