import { useRedis, waitFor } from './harness';
import { CacheFactory } from './cache-factory';

/** `getOrSetWithStatus` says how each call was answered: hit (l1, l2), stale, miss; with the entry's age. */
describe('CacheService.getOrSetWithStatus on a real Redis', () => {
  const redis = useRedis();
  const apps = new CacheFactory();
  let prefix = 0;
  const nextPrefix = () => `status${++prefix}`;
  afterEach(() => apps.closeAll());

  it('miss from the factory, then a hit from L1, then from L2 on another instance, with the age', async () => {
    const p = nextPrefix();
    const a = await apps.create({ redis: redis.url, prefix: p, ttl: '1m' }, { fakeClock: true });
    const b = await apps.create({ redis: redis.url, prefix: p, ttl: '1m' }, { fakeClock: true });
    b.clock.now = a.clock.now;
    let runs = 0;
    const factory = async () => ({ n: ++runs });
    expect(await a.cache.getOrSetWithStatus('k', factory)).toEqual({ value: { n: 1 }, status: 'miss', tier: 'factory', age: 0 });
    a.clock.advance(1500);
    b.clock.advance(2500);
    expect(await a.cache.getOrSetWithStatus('k', factory)).toEqual({ value: { n: 1 }, status: 'hit', tier: 'l1', age: 1500 });
    expect(await b.cache.getOrSetWithStatus('k', factory)).toEqual({ value: { n: 1 }, status: 'hit', tier: 'l2', age: 2500 });
    // Promoted: the next read on b is an L1 hit.
    expect(await b.cache.getOrSetWithStatus('k', factory)).toMatchObject({ status: 'hit', tier: 'l1' });
    expect(runs).toBe(1);
    // The plain getOrSet answers the same value.
    expect(await a.cache.getOrSet('k', factory)).toEqual({ n: 1 });
  });

  it('stale within grace: served with its tier and age, refreshed in the background by this call (refreshing)', async () => {
    const { cache, clock } = await apps.create({ redis: redis.url, prefix: nextPrefix(), ttl: '10s', grace: '1m', refreshAhead: false }, { fakeClock: true });
    let runs = 0;
    const backgrounds: boolean[] = [];
    const factory = async ({ background }: { background?: boolean }) => {
      backgrounds.push(background === true);
      return ++runs;
    };
    await cache.getOrSetWithStatus('k', factory);
    clock.advance(11_000);
    const stale = await cache.getOrSetWithStatus('k', factory);
    expect(stale).toMatchObject({ value: 1, status: 'stale', tier: 'l1', age: 11_000 });
    expect(stale.refreshing).toBeInstanceOf(Promise);
    // A second call while the refresh runs gets the stale copy too, without a refresh of its own.
    const again = await cache.getOrSetWithStatus('k', factory);
    expect(again).toMatchObject({ value: 1, status: 'stale' });
    await stale.refreshing;
    expect(await cache.getOrSetWithStatus('k', factory)).toMatchObject({ value: 2, status: 'hit', tier: 'l1', age: 0 });
    expect(runs).toBe(2);
    expect(backgrounds).toEqual([false, true]);
  });

  it('concurrent callers share one run: all report the miss, only the leader is handed a refresh', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: nextPrefix() });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let runs = 0;
    const factory = async () => {
      runs += 1;
      await gate;
      return 'v';
    };
    const all = Array.from({ length: 10 }, () => cache.getOrSetWithStatus('k', factory));
    await waitFor(() => runs === 1);
    release();
    const answers = await Promise.all(all);
    expect(answers.every((a) => a.value === 'v' && a.status === 'miss' && a.tier === 'factory' && a.refreshing === undefined)).toBe(true);
    expect(runs).toBe(1);
  });

  it('fail-safe: a stale copy standing in for a failing factory is reported stale', async () => {
    const { cache, clock } = await apps.create(
      { redis: redis.url, prefix: nextPrefix(), ttl: '10s', failSafe: { window: '1h' }, refreshAhead: false },
      { fakeClock: true },
    );
    await cache.getOrSetWithStatus('k', async () => 'old');
    clock.advance(20_000);
    const answer = await cache.getOrSetWithStatus('k', async () => {
      throw new Error('down');
    });
    expect(answer).toMatchObject({ value: 'old', status: 'stale', age: 20_000 });
  });

  it('refreshAhead per call: false keeps a hit near its end from refreshing', async () => {
    const { cache, clock } = await apps.create({ redis: redis.url, prefix: nextPrefix(), ttl: '10s', refreshAhead: 0.5 }, { fakeClock: true });
    let runs = 0;
    const factory = async () => ++runs;
    await cache.getOrSet('k', factory);
    clock.advance(8_000);
    expect(await cache.getOrSetWithStatus('k', factory, { refreshAhead: false })).toMatchObject({ value: 1, status: 'hit' });
    expect(cache.stats().refreshes.ahead).toBe(0);
    await cache.getOrSetWithStatus('k', factory);
    expect(cache.stats().refreshes.ahead).toBe(1);
    await expect(cache.getOrSetWithStatus('k', factory, { refreshAhead: 2 })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
  });
});
