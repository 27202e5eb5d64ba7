import type Redis from 'ioredis';
import { InvalidOptionError, InvalidKeyError } from '../src';
import { useRedis, waitFor } from './harness';
import { CacheFactory } from './cache-factory';

describe('CacheService on a real Redis', () => {
  const redis = useRedis();
  const apps = new CacheFactory();
  let admin: Redis;
  let prefix = 0;
  const nextPrefix = () => `t${++prefix}`;

  beforeAll(() => {
    admin = redis.client();
  });
  afterEach(() => apps.closeAll());

  it('get / set / has / delete, visible to a second instance through Redis', async () => {
    const p = nextPrefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const b = await apps.create({ redis: redis.url, prefix: p });
    expect(await a.cache.get('user:1')).toBeUndefined();
    expect(await a.cache.has('user:1')).toBe(false);
    expect(await a.cache.set('user:1', { name: 'Ada', born: new Date('1815-12-10') })).toBe(true);
    expect(await a.cache.get('user:1')).toEqual({ name: 'Ada', born: new Date('1815-12-10') });
    expect(await b.cache.get('user:1')).toEqual({ name: 'Ada', born: new Date('1815-12-10') });
    expect(b.cache.stats().l2.hits).toBe(1);
    expect(await admin.exists(a.cache.keyOf('user:1'))).toBe(1);
    await a.cache.delete('user:1');
    expect(await admin.exists(a.cache.keyOf('user:1'))).toBe(0);
    expect(await a.cache.get('user:1')).toBeUndefined();
    expect(await a.cache.has('user:1')).toBe(false);
  });

  it('writes the key as {prefix}:{namespace}:{name}:{key} with a one-byte header', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: 'app', namespace: 'prod' });
    await cache.set('k:1', { v: 1 });
    await cache.set('k:2', 'v');
    expect(cache.keyOf('k:1')).toBe('app:prod:default:k%3A1');
    const bytes = await admin.getBuffer('app:prod:default:k%3A1');
    expect(bytes![0] >> 5).toBe(1); // format version 1 in the high bits
    // A string is the text payload (version 2): the envelope, a line feed, the string's own bytes.
    const text = await admin.getBuffer('app:prod:default:k%3A2');
    expect(text![0] >> 5).toBe(2);
    expect(text!.subarray(text!.indexOf(0x0a) + 1).toString()).toBe('v');
  });

  it('getOrSet runs the factory once for 1000 concurrent callers', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: nextPrefix() });
    let runs = 0;
    const factory = async () => {
      runs += 1;
      await new Promise((resolve) => setImmediate(resolve));
      return { answer: 42 };
    };
    const results = await Promise.all(Array.from({ length: 1000 }, () => cache.getOrSet('slow', factory)));
    expect(runs).toBe(1);
    expect(results.every((r) => r.answer === 42)).toBe(true);
    expect(await cache.getOrSet('slow', factory)).toEqual({ answer: 42 });
    expect(runs).toBe(1);
  });

  it('getOrSet: a throwing factory rejects every waiter promptly and stores nothing', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: nextPrefix() });
    const boom = new Error('upstream failed');
    let runs = 0;
    const factory = async () => {
      runs += 1;
      await new Promise((resolve) => setImmediate(resolve));
      throw boom;
    };
    const settled = await Promise.allSettled(Array.from({ length: 1000 }, () => cache.getOrSet('fails', factory)));
    expect(runs).toBe(1);
    expect(settled.every((s) => s.status === 'rejected' && s.reason === boom)).toBe(true);
    expect(await admin.exists(cache.keyOf('fails'))).toBe(0);
    expect(await cache.getOrSet('fails', () => 'recovered')).toBe('recovered');
    expect(cache.stats().factory).toEqual({ runs: 2, errors: 1 });
  });

  it('getMany reads what L1 lacks in one MGET; setMany writes in one round trip', async () => {
    const p = nextPrefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const b = await apps.create({ redis: redis.url, prefix: p });
    await admin.config('RESETSTAT');
    await a.cache.setMany([
      { key: 'a', value: 1 },
      { key: 'b', value: 2, ttl: '1m' },
      { key: 'c', value: 3, tags: ['t'] },
      { key: 'd', value: 4, tags: ['t'] },
    ]);
    let stats = await admin.info('commandstats');
    expect(stats).toMatch(/cmdstat_set:calls=4,/);
    expect(stats).toMatch(/cmdstat_exec:calls=1,|cmdstat_set:calls=4,/);
    expect(await b.cache.get('a')).toBe(1); // now in b's L1
    expect(await b.cache.get('c')).toBe(3); // b has now loaded the time of tag 't' once
    await admin.config('RESETSTAT');
    expect(await b.cache.getMany(['a', 'b', 'missing', 'd'])).toEqual([1, 2, undefined, 4]);
    stats = await admin.info('commandstats');
    expect(stats).toMatch(/cmdstat_mget:calls=1,/);
    expect(stats).not.toMatch(/cmdstat_get:/);
  });

  it('increment is atomic across instances and sets the TTL on the first write', async () => {
    const p = nextPrefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const b = await apps.create({ redis: redis.url, prefix: p });
    const calls = Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).cache.increment('rate:ip', 1, { ttl: '30s' }));
    const values = await Promise.all(calls);
    expect(new Set(values).size).toBe(200);
    expect(Math.max(...values)).toBe(200);
    const keys = await admin.scan('0', 'MATCH', `${p}:*ctr*`, 'COUNT', 1000);
    expect(keys[1]).toHaveLength(1);
    const pttl = await admin.pttl(keys[1][0]);
    expect(pttl).toBeGreaterThan(25_000);
    expect(pttl).toBeLessThanOrEqual(30_000);
    // A counter is not an entry: reading the same key as an entry is a plain miss, not a corrupt entry.
    expect(await a.cache.get('rate:ip')).toBeUndefined();
    expect(a.cache.stats().corrupt).toBe(0);
  });

  it('clear() invalidates the namespace in O(1): nothing is scanned, other namespaces stay', async () => {
    const p = nextPrefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const b = await apps.create({ redis: redis.url, prefix: p });
    const users = a.cache.namespace('users');
    await users.setMany(Array.from({ length: 100 }, (_, i) => ({ key: `u${i}`, value: i })));
    await a.cache.namespace('orders').set('o1', 'order');
    await admin.config('RESETSTAT');
    await users.clear();
    const stats = await admin.info('commandstats');
    expect(stats).not.toMatch(/cmdstat_(scan|keys|del|unlink):/);
    expect(await users.get('u1')).toBeUndefined();
    expect(await b.cache.namespace('users').get('u2')).toBeUndefined(); // b reads the namespace time from Redis
    expect(await a.cache.namespace('orders').get('o1')).toBe('order');
    await users.set('u1', 'new');
    expect(await users.get('u1')).toBe('new');
  });

  it('invalidateTags removes tagged entries from both tiers, and only those', async () => {
    const p = nextPrefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    await a.cache.set('t1', 'one', { tags: ['template:1'] });
    await a.cache.set('t2', 'two', { tags: ['template:2'] });
    await a.cache.set('both', 'both', { tags: ['template:1', 'template:2'] });
    await a.cache.invalidateTags(['template:1']);
    expect(await a.cache.get('t1')).toBeUndefined();
    expect(await a.cache.get('both')).toBeUndefined();
    expect(await a.cache.get('t2')).toBe('two');
    // A fresh instance, with nothing in L1, sees the invalidation through Redis.
    const b = await apps.create({ redis: redis.url, prefix: p });
    expect(await b.cache.get('t1')).toBeUndefined();
    expect(await b.cache.get('t2')).toBe('two');
    await a.cache.set('t1', 'again', { tags: ['template:1'] });
    expect(await b.cache.get('t1')).toBe('again');
  });

  it('forTenant and namespace views write apart from each other and from the default view', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: nextPrefix() });
    const acme = cache.forTenant('acme');
    const globex = cache.forTenant('globex');
    await acme.set('profile', 'acme-data', { tags: ['user:1'] });
    await globex.set('profile', 'globex-data', { tags: ['user:1'] });
    await cache.namespace('jobs').set('profile', 'jobs-data');
    expect(acme.keyOf('profile')).toMatch(/:t=acme:/);
    expect(await acme.get('profile')).toBe('acme-data');
    expect(await globex.get('profile')).toBe('globex-data');
    expect(await cache.get('profile')).toBeUndefined();
    expect(await cache.namespace('jobs').get('profile')).toBe('jobs-data');
    await acme.invalidateTags(['user:1']); // one tenant's tag never reaches another tenant
    expect(await acme.get('profile')).toBeUndefined();
    expect(await globex.get('profile')).toBe('globex-data');
    await globex.clear();
    expect(await globex.get('profile')).toBeUndefined();
    expect(await cache.namespace('jobs').get('profile')).toBe('jobs-data');
  });

  it('named caches have their own policy and are injectable', async () => {
    const p = nextPrefix();
    const { app, cache } = await apps.create({
      redis: redis.url,
      prefix: p,
      ttl: '1m',
      caches: { ai: { ttl: '2h' }, local: { tiers: ['memory'] } },
    });
    const ai = app.get<typeof cache>('StrataCache:ai');
    await ai.set('q', 'a');
    expect(await admin.pttl(ai.keyOf('q'))).toBeGreaterThan(7_000_000);
    await cache.set('q', 'b');
    expect(await admin.pttl(cache.keyOf('q'))).toBeLessThanOrEqual(60_000);
    const local = cache.cache('local');
    await local.set('only-here', 1);
    expect(await local.get('only-here')).toBe(1);
    expect(await admin.exists(local.keyOf('only-here'))).toBe(0);
    expect(() => cache.cache('nope')).toThrow(/unknown cache 'nope': declare it in CacheModule.forRoot/);
  });

  it('does not cache what cannot be serialized, returns the value anyway, and counts it', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: nextPrefix() });
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    expect(await cache.getOrSet('circ', () => circular)).toBe(circular);
    const fn = () => 1;
    expect(await cache.getOrSet('fn', () => fn)).toBe(fn);
    expect(await cache.set('fn2', fn)).toBe(false);
    expect(await cache.get('circ')).toBeUndefined();
    expect(await admin.exists(cache.keyOf('circ'))).toBe(0);
    expect(cache.stats().notCacheable).toBe(3);
  });

  it('rejects an empty key with an InvalidKeyError (E_INVALID_KEY) and hashes huge or control-character keys', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: nextPrefix() });
    await expect(async () => cache.get('')).rejects.toThrow(InvalidKeyError);
    await expect(async () => cache.get('')).rejects.toMatchObject({ code: 'E_INVALID_KEY' });
    const huge = 'k'.repeat(100_000);
    await cache.set(huge, 'big-key');
    await cache.set('line\nbreak', 'ctl');
    expect(cache.keyOf(huge).length).toBeLessThan(80);
    expect(await cache.get(huge)).toBe('big-key');
    expect(await cache.get('line\nbreak')).toBe('ctl');
    expect(await admin.exists(cache.keyOf(huge))).toBe(1);
  });

  it('treats bytes that do not decode as a miss, deletes them and counts them as corrupt', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: nextPrefix() });
    await admin.set(cache.keyOf('bad'), Buffer.from([0x20, 0x7b, 0x22]));
    expect(await cache.get('bad')).toBeUndefined();
    expect(await cache.getOrSet('bad', () => 'rebuilt')).toBe('rebuilt');
    expect(cache.stats().corrupt).toBe(1);
    await waitFor(async () => (await cache.get('bad')) === 'rebuilt');
  });

  it('expires entries after their ttl (injected clock for L1, PX for Redis)', async () => {
    const p = nextPrefix();
    const { cache, clock } = await apps.create({ redis: redis.url, prefix: p, ttl: '10s' }, { fakeClock: true });
    await cache.set('short', 'v');
    clock.advance(9_999);
    expect(await cache.get('short')).toBe('v');
    clock.advance(2);
    expect(await cache.get('short')).toBeUndefined();
    expect(await admin.pttl(cache.keyOf('short'))).toBeLessThanOrEqual(10_000);
  });

  it('stats() reports hits and misses per tier, hit rate and L1 size', async () => {
    const p = nextPrefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const b = await apps.create({ redis: redis.url, prefix: p });
    await a.cache.set('s', 'x'.repeat(100));
    await b.cache.get('s'); // L1 miss, L2 hit
    await b.cache.get('s'); // L1 hit
    await b.cache.get('nope'); // L1 miss, L2 miss
    const stats = b.cache.stats();
    expect(stats.l1).toMatchObject({ hits: 1, misses: 2, entries: 1 });
    expect(stats.l1.bytes).toBeGreaterThan(200);
    expect(stats.l2).toMatchObject({ hits: 1, misses: 1, state: 'closed', errors: 0 });
    expect(stats).toMatchObject({ hits: 2, misses: 1 });
    expect(stats.hitRate).toBeCloseTo(2 / 3);
  });

  it('fails at startup with a message that says how to fix a bad option', async () => {
    await expect(apps.create({ redis: redis.url, ttl: -1 })).rejects.toThrow(InvalidOptionError);
    await expect(apps.create({ redis: redis.url, ttl: -1 })).rejects.toThrow(
      "ttl must be a positive duration, e.g. 60_000 or '1m'",
    );
  });
});
