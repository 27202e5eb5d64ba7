import type Redis from 'ioredis';
import { Registry } from 'prom-client';
import { useRedis, waitFor } from './harness';
import { CacheFactory, RecordingLogger } from './cache-factory';
import { WITHOUT_KEYS, useInvalidationSuite } from './invalidation-suite';

/** Every key of a SCAN MATCH over the whole keyspace (KEYS is renamed away on these servers). */
async function scanAll(client: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

async function existing(client: Redis, keys: readonly string[]): Promise<number> {
  return keys.length === 0 ? 0 : client.exists(...keys);
}

const items = (label: string, n: number, tags: string[]) => Array.from({ length: n }, (_, i) => ({ key: `${label}:${i}`, value: `${label}-old-${i}`, tags }));

/** The optional hard purge (`invalidation.purge`) on real Redis, KEYS renamed away. */
describe('hard purge of invalidated tags', () => {
  const { redis, apps, admin, prefix } = useInvalidationSuite('purge');

  it('is off by default: writes with tags leave no index key, and invalidation removes nothing', async () => {
    const p = prefix();
    const { cache } = await apps.create({ redis: redis.url, prefix: p });
    await cache.setMany(items('doc', 50, ['t', 'u']));
    await cache.set('one', 1, { tags: ['t'], dependsOn: ['doc:1'] });
    await cache.invalidateTags(['t']);
    expect(await scanAll(admin(), `${p}:__tagkeys*`)).toEqual([]);
    expect(await existing(admin(), [...items('doc', 50, []).map(({ key }) => cache.keyOf(key)), cache.keyOf('one')])).toBe(51);
    expect(await cache.get('doc:3')).toBeUndefined(); // invalidated all the same, by its time
    expect(cache.stats().purged).toBe(0);
  });

  it("removes every key of the tag, in batches, and leaves other tags' and other tenants' keys", async () => {
    const p = prefix();
    const registry = new Registry();
    const { cache } = await apps.create({ redis: redis.url, prefix: p, invalidation: { purge: true, scanCount: 7 }, metrics: { registry } });
    const acme = cache.forTenant('acme');
    const globex = cache.forTenant('globex');
    await cache.setMany(items('doc', 100, ['t']));
    await cache.setMany(items('both', 10, ['t', 'u']));
    await cache.setMany(items('keep', 20, ['u']));
    await acme.setMany(items('doc', 30, ['t']));
    await globex.setMany(items('doc', 30, ['t']));
    const keysOf = (view: typeof cache, label: string, n: number) => Array.from({ length: n }, (_, i) => view.keyOf(`${label}:${i}`));
    await admin().config('RESETSTAT');
    const before = await admin().dbsize();

    await cache.invalidateTags(['t']);
    await acme.invalidateTags(['t']);
    await waitFor(async () => (await existing(admin(), [...keysOf(cache, 'doc', 100), ...keysOf(cache, 'both', 10), ...keysOf(acme, 'doc', 30)])) === 0, {
      message: 'the purge to remove every key of the tag',
    });
    await waitFor(async () => (await scanAll(admin(), `${p}:__tagkeys*purging*`)).length === 0, { message: 'the snapshots to be used up' });

    expect(await existing(admin(), keysOf(cache, 'keep', 20))).toBe(20);
    expect(await existing(admin(), keysOf(globex, 'doc', 30))).toBe(30); // the same tag of another tenant
    expect(await globex.get('doc:4')).toBe('doc-old-4');
    expect(await cache.get('keep:4')).toBe('keep-old-4');
    // 140 entries and the two indexes walked are gone; the times of the two tags (default's, acme's) came in.
    expect(await admin().dbsize()).toBe(before - 140 - 2 + 2);
    const stats = await admin().info('commandstats');
    expect(Number(/cmdstat_zpopmin:calls=(\d+)/.exec(stats)?.[1])).toBeGreaterThanOrEqual(Math.ceil(110 / 7));
    expect(stats).toMatch(/cmdstat_unlink:calls=\d+/);
    expect(cache.stats().purged).toBe(140);
    expect(cache.stats().caches.default.purged).toBe(140);
    const metric = await registry.getSingleMetric('strata_cache_purged_keys_total')?.get();
    expect(metric?.values.find((v) => v.labels.cache === 'default')?.value).toBe(140);
  });

  it('a new key written after the invalidation returned is kept; a key rewritten meanwhile is at worst a miss, never stale', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p, invalidation: { purge: true, scanCount: 5, scanPause: 10 } });
    await a.cache.setMany(items('doc', 200, ['t']));
    const during = a.cache.set('doc:1', 'during', { tags: ['t'] });
    await a.cache.invalidateTags(['t']);
    await during;
    // An entry created in the very millisecond of an invalidation counts as invalidated: start past it.
    const invalidatedBy = Date.now();
    await waitFor(() => Date.now() > invalidatedBy, { intervalMs: 1 });
    // Keys the walk has not reached yet: their new values may be removed with the old ones (a miss).
    await a.cache.set('doc:0', 'after', { tags: ['t'] });
    await a.cache.set('doc:150', 'untagged-after');
    await a.cache.set('fresh', 'after', { tags: ['t'] }); // listed in the fresh index only
    await waitFor(async () => (await scanAll(admin(), `${p}:__tagkeys*purging*`)).length === 0, { timeoutMs: 30_000, message: 'the purge to finish' });

    const b = await apps.create({ redis: redis.url, prefix: p }); // reads Redis, not A's L1
    for (const reader of [a, b]) {
      expect(await reader.cache.get('fresh')).toBe('after');
      expect([undefined, 'after']).toContain(await reader.cache.get('doc:0'));
      expect([undefined, 'during']).toContain(await reader.cache.get('doc:1'));
      expect([undefined, 'untagged-after']).toContain(await reader.cache.get('doc:150'));
      expect(await reader.cache.get('doc:7')).toBeUndefined();
    }
    expect(await existing(admin(), [a.cache.keyOf('doc:7'), a.cache.keyOf('doc:199')])).toBe(0);
    // What was written after the invalidation is listed in the fresh index, ready for the next purge.
    await a.cache.invalidateTags(['t']);
    await waitFor(async () => (await existing(admin(), [a.cache.keyOf('doc:0'), a.cache.keyOf('fresh')])) === 0);
    expect(await b.cache.get('fresh')).toBeUndefined();
  });

  it('cascades: the dependents of a deleted key go too, at every level', async () => {
    const p = prefix();
    const { cache } = await apps.create({ redis: redis.url, prefix: p, invalidation: { purge: true } });
    await cache.set('user:1', 'Ada');
    await cache.set('user:2', 'Grace');
    await cache.set('profile:1', 'P1', { dependsOn: ['user:1'] });
    await cache.set('card:1', 'C1', { dependsOn: ['profile:1'] });
    await cache.set('profile:2', 'P2', { dependsOn: ['user:2'] });
    await cache.delete('user:1');
    await waitFor(async () => (await existing(admin(), [cache.keyOf('profile:1'), cache.keyOf('card:1')])) === 0, { message: 'dependents purged' });
    expect(await cache.get('card:1')).toBeUndefined();
    expect(await cache.get('profile:2')).toBe('P2');
    expect(await admin().exists(cache.keyOf('profile:2'))).toBe(1);
    expect(cache.stats().purged).toBe(2);
  });

  it('keeps an index near the size of its live keys, and only ever extends its TTL', async () => {
    const p = prefix();
    const { cache } = await apps.create({ redis: redis.url, prefix: p, invalidation: { purge: true } });
    const index = `${p}:__tagkeys:{tag:${p}:t}`;
    await cache.set('long', 1, { tags: ['t'], ttl: '1h' });
    await cache.setMany(Array.from({ length: 50 }, (_, i) => ({ key: `short:${i}`, value: i, tags: ['t'], ttl: 50 })));
    expect(await admin().zcard(index)).toBe(51);
    const longLived = await admin().pttl(index);
    expect(longLived).toBeGreaterThan(3_600_000);
    await waitFor(async () => (await existing(admin(), Array.from({ length: 50 }, (_, i) => cache.keyOf(`short:${i}`)))) === 0, {
      message: 'the short entries to expire',
    });
    await cache.set('next', 2, { tags: ['t'], ttl: 1000 });
    expect(await admin().zrange(index, 0, -1)).toEqual([cache.keyOf('next'), cache.keyOf('long')]);
    expect(await admin().pttl(index)).toBeGreaterThan(longLived - 60_000); // not shortened by the 1 s entry
  });

  it('stops without throwing when Redis stops answering mid-purge; the invalidation stands and the leftover expires', async () => {
    const p = prefix();
    const logger = new RecordingLogger();
    const options = { redis: redis.url, prefix: p, logger, probeInterval: 50 };
    const a = await apps.create({ ...options, invalidation: { purge: true, scanCount: 5, scanPause: 200 } });
    await a.cache.setMany(items('doc', 300, ['t']));
    const keys = Array.from({ length: 300 }, (_, i) => a.cache.keyOf(`doc:${i}`));
    expect(await existing(admin(), keys)).toBe(300);
    await a.cache.invalidateTags(['t']);
    await waitFor(async () => (await existing(admin(), keys)) < 300, { message: 'the purge to start' });
    await redis.process.pause();
    try {
      await waitFor(() => logger.count(/purge of tag:.* stopped after \d+ keys: Redis did not answer\. The invalidation stands/) === 1, {
        message: 'the walk to stop',
      });
      await expect(a.cache.invalidateTags(['other'])).resolves.toBeUndefined();
    } finally {
      await redis.process.resume();
    }
    const c = await apps.create({ redis: redis.url, prefix: p }); // a fresh instance: times from Redis only
    expect(await c.cache.getMany(['doc:0', 'doc:150', 'doc:299'])).toEqual([undefined, undefined, undefined]);
    const left = await existing(admin(), keys);
    expect(left).toBeGreaterThan(0); // the walk stopped part-way...
    const [snapshot] = await scanAll(admin(), `${p}:__tagkeys*purging*`);
    expect(await admin().pttl(snapshot)).toBeGreaterThan(0); // ...and what it had not reached expires on its TTL
    expect(await c.cache.get('doc:1')).toBeUndefined();
    expect(await existing(admin(), keys)).toBe(left); // nothing resumed behind our back
  });
});

describe('hard purge when Redis is killed mid-purge', () => {
  const redis = useRedis({ config: WITHOUT_KEYS });
  const apps = new CacheFactory();
  afterEach(async () => {
    await apps.closeAll();
    if (!redis.process.isRunning()) await redis.process.restart();
  });

  it('never throws to a caller, and reads stay correct during the outage and after', async () => {
    const logger = new RecordingLogger();
    const options = { redis: redis.url, prefix: 'kill', logger, probeInterval: 50 };
    const a = await apps.create({ ...options, invalidation: { purge: true, scanCount: 5, scanPause: 200 } });
    await a.cache.setMany(items('doc', 300, ['t']));
    await a.cache.set('other', 'kept', { tags: ['o'] });
    const admin = redis.client();
    const keys = Array.from({ length: 300 }, (_, i) => a.cache.keyOf(`doc:${i}`));
    expect(await existing(admin, keys)).toBe(300);
    await a.cache.invalidateTags(['t']);
    await waitFor(async () => (await existing(admin, keys)) < 300, { message: 'the purge to start' });
    await redis.process.kill();
    await waitFor(() => logger.count(/purge of tag:.* stopped after/) === 1, { message: 'the walk to stop' });
    expect(await a.cache.getMany(['doc:0', 'doc:150', 'doc:299'])).toEqual([undefined, undefined, undefined]);
    expect(await a.cache.get('other')).toBe('kept'); // L1, while Redis is gone
    await expect(a.cache.invalidateTags(['o'])).resolves.toBeUndefined();
    expect(await a.cache.get('other')).toBeUndefined();

    await redis.process.restart();
    await waitFor(() => a.cache.stats().l2.state === 'closed', { timeoutMs: 30_000, message: 'the breaker to close' });
    await a.cache.set('doc:0', 'new', { tags: ['t'] });
    const b = await apps.create({ redis: redis.url, prefix: 'kill' });
    expect(await b.cache.get('doc:0')).toBe('new');
    expect(await a.cache.get('doc:0')).toBe('new');
    expect(logger.count(/purge of/)).toBe(1);
  });
});
