import { Pool, type PoolClient } from 'pg';
import { Registry } from 'prom-client';
import { CacheHealthIndicator } from '../src';
import { StrataError } from '../src/core/errors';
import { usePostgres, useRedis, waitFor } from './harness';
import { CacheFactory } from './cache-factory';

/**
 * The L1 → L2 → L3 chain on real servers: redis-server and PostgreSQL from the harness, Nest app
 * contexts as instances. `ocr` lists the cold tier; `plain` does not.
 */
describe('Cold tier on PostgreSQL (real Redis and PostgreSQL)', () => {
  const redis = useRedis();
  const pg = usePostgres();
  const apps = new CacheFactory();
  let n = 0;
  let prefix = 'p0';
  afterEach(() => apps.closeAll());
  beforeEach(() => {
    n += 1;
    prefix = `cold${n}`;
  });

  const options = (extra: Record<string, unknown> = {}) => ({
    redis: redis.url,
    prefix,
    postgres: { url: pg.url, statementTimeout: '1s', probeInterval: '100ms' },
    caches: { ocr: { tiers: ['memory', 'redis', 'postgres'] as const, ttl: '7d' }, plain: { ttl: '1h' } },
    ...extra,
  });
  const instance = async (extra: Record<string, unknown> = {}) => {
    const app = await apps.create(options(extra) as never);
    return { ...app, ocr: app.cache.cache('ocr'), plain: app.cache.cache('plain') };
  };
  const rows = async (like: string) => (await pg.process.query<{ key: string }>(`SELECT key FROM strata_cache WHERE key LIKE $1 ORDER BY key`, [like])).map((r) => r.key);
  const flushRedis = () => redis.client().flushall();

  it('after FLUSHALL and a restart, serves the value from L3 with no factory run and promotes it to Redis', async () => {
    const a = await instance();
    let runs = 0;
    const factory = async () => ({ text: `ocr of doc ${++runs}` });
    expect(await a.ocr.getOrSet('doc:1', factory)).toEqual({ text: 'ocr of doc 1' });
    expect(await rows(`${prefix}:%`)).toEqual([a.ocr.keyOf('doc:1')]);
    await a.app.close();
    await flushRedis();

    const b = await instance();
    expect(await b.ocr.getOrSet('doc:1', factory)).toEqual({ text: 'ocr of doc 1' });
    expect(runs).toBe(1);
    expect(b.cache.stats().factory.runs).toBe(0);
    expect(b.cache.stats().caches.ocr.l3).toMatchObject({ hits: 1, promotions: 1 });
    expect(await redis.client().exists(b.ocr.keyOf('doc:1'))).toBe(1);
    // Promoted with the entry's remaining life (7 days), not forever.
    expect(await redis.client().pttl(b.ocr.keyOf('doc:1'))).toBeGreaterThan(6 * 24 * 3600 * 1000);
  });

  it('keeps Redis to l2Ttl while PostgreSQL keeps the whole ttl', async () => {
    const a = await instance({ caches: { ocr: { tiers: ['memory', 'redis', 'postgres'], ttl: '7d', l2Ttl: '1h' }, plain: {} } });
    await a.ocr.set('doc:2', 'x');
    const pttl = await redis.client().pttl(a.ocr.keyOf('doc:2'));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(3600 * 1000);
    const [row] = await pg.process.query<{ stale_until: string }>('SELECT stale_until FROM strata_cache WHERE key = $1', [a.ocr.keyOf('doc:2')]);
    expect(Number(row.stale_until) - Date.now()).toBeGreaterThan(6 * 24 * 3600 * 1000);
  });

  it('leaves caches without the cold tier in Redis only', async () => {
    const a = await instance();
    await a.plain.set('k', 1);
    await a.cache.set('k', 2);
    expect(await rows(`${prefix}:%`)).toEqual([]);
  });

  /** A real pg Pool whose connections record every statement they send (the cache's own queries). */
  const countingPool = () => {
    const pool = new Pool({ connectionString: pg.url, max: 3 });
    const statements: string[] = [];
    const seen = new WeakSet<PoolClient>();
    const connect = pool.connect.bind(pool) as () => Promise<PoolClient>;
    (pool as unknown as { connect: () => Promise<PoolClient> }).connect = async () => {
      const client = await connect();
      if (!seen.has(client)) {
        seen.add(client);
        const query = client.query.bind(client) as (config: string | { text: string }, ...rest: unknown[]) => Promise<unknown>;
        (client as unknown as { query: typeof query }).query = (config, ...rest) => {
          statements.push(typeof config === 'string' ? config : config.text);
          return query(config, ...rest);
        };
      }
      return client;
    };
    return { pool, statements, close: () => pool.end() };
  };

  it('a cache without the cold tier writes, deletes, cascades and invalidates patterns without a statement to PostgreSQL', async () => {
    const counted = countingPool();
    try {
      const a = await instance({ postgres: { pool: counted.pool, statementTimeout: '1s', probeInterval: '100ms', cleanup: false } });
      // The counter sees the cold cache's statements: a write, and the dependency check of its overwrite.
      await a.ocr.set('doc', 1);
      counted.statements.length = 0;
      await a.ocr.set('doc', 2);
      expect(counted.statements.some((text) => /^UPDATE \S+_times /.test(text))).toBe(true);

      counted.statements.length = 0;
      await a.plain.set('parent', 'p1');
      await a.plain.set('child', 'c', { dependsOn: ['parent'] });
      expect(await a.plain.getOrSet('derived', async () => 'd', { dependsOn: ['child'] })).toBe('d');
      await a.plain.setMany([{ key: 'x', value: 1 }, { key: 'y', value: 2 }]);
      await a.plain.delete('x');
      expect(await a.plain.invalidatePattern('y*')).toBe(1);
      await a.plain.forTenant('acme').namespace('ns').invalidatePattern('*');
      await a.cache.set('root', 1);
      await a.plain.set('parent', 'p2'); // cascade: child, then derived (transitively)
      expect(await a.plain.get('child')).toBeUndefined();
      expect(await a.plain.get('derived')).toBeUndefined();
      expect(counted.statements).toEqual([]);
      const b = await instance({ postgres: { pool: counted.pool, statementTimeout: '1s', probeInterval: '100ms', cleanup: false } });
      counted.statements.length = 0; // B's start (schema check, probe)
      await b.plain.set('child', 'c2', { dependsOn: ['parent'] });
      await a.plain.delete('parent'); // another instance's dependent, found in Redis
      await waitFor(async () => (await b.plain.get('child')) === undefined, { message: "B's child to be invalidated by A's delete" });
      expect(counted.statements).toEqual([]);
      // No dependency record of the Redis-only cache in PostgreSQL (its dependents never live there).
      expect(await pg.process.query(`SELECT id FROM strata_cache_times WHERE id LIKE $1`, [`dep:${prefix}:%`])).toEqual([]);
    } finally {
      await apps.closeAll();
      await counted.close();
    }
  });

  it('a cache without the cold tier keeps writing with nothing pending while PostgreSQL is down', async () => {
    const a = await instance();
    await a.ocr.set('doc', 1);
    await a.plain.set('parent', 'p1');
    await a.plain.set('child', 'c', { dependsOn: ['parent'] });
    await pg.process.stop();
    try {
      await a.plain.set('k', 1);
      await a.plain.delete('k');
      await a.plain.invalidatePattern('k*');
      await a.plain.set('parent', 'p2');
      expect(await a.plain.get('child')).toBeUndefined();
      // Nothing for the cold tier to replay, so nothing keeps it unread once PostgreSQL is back.
      expect(a.cache.stats().l3.pending).toBe(0);
      await a.ocr.delete('doc');
      expect(a.cache.stats().l3.pending).toBeGreaterThan(0); // while a cold cache's change is remembered
    } finally {
      await pg.process.start();
    }
  });

  it("invalidates a cold cache's dependents through PostgreSQL from any instance, tenant or namespace view, after Redis lost everything", async () => {
    const a = await instance();
    const views = (x: Awaited<ReturnType<typeof instance>>) => [x.ocr, x.ocr.forTenant('acme'), x.ocr.namespace('ns'), x.ocr.forTenant('acme').namespace('ns')];
    for (const view of views(a)) {
      await view.set('parent', 'p');
      await view.set('child', 'c', { dependsOn: ['parent'] });
    }
    // dependsOn names keys of the dependent's own view: a Redis-only cache's key of the same name is another key.
    await a.plain.set('parent', 'other');
    await a.plain.delete('parent');
    await flushRedis();
    const b = await instance();
    for (const view of views(b)) expect(await view.get('child')).toBe('c'); // from L3, untouched by plain's parent
    await flushRedis();
    const c = await instance();
    for (const view of views(c)) await view.set('parent', 'p2');
    await flushRedis();
    const d = await instance();
    for (const view of views(d)) expect(await view.get('child')).toBeUndefined();
    for (const view of views(d)) expect(await view.get('parent')).toBe('p2');
    // A pattern of a cold cache's view reaches PostgreSQL too.
    for (const view of views(d)) expect(await view.invalidatePattern('par*')).toBe(1);
    await flushRedis();
    const e = await instance();
    for (const view of views(e)) expect(await view.get('parent')).toBeUndefined();
  });

  it('never serves from L3 a value invalidated by tag on another instance, even after Redis lost the times', async () => {
    const a = await instance();
    const b = await instance();
    let runs = 0;
    const factory = async () => `v${++runs}`;
    expect(await a.ocr.getOrSet('doc:3', factory, { tags: ['doc:3'] })).toBe('v1');
    await b.ocr.invalidateTags(['doc:3']);
    await waitFor(async () => (await a.ocr.get('doc:3')) === undefined, { message: 'A to drop doc:3' });
    await flushRedis();
    const c = await instance();
    expect(await c.ocr.get('doc:3')).toBeUndefined();
    expect(await c.ocr.getOrSet('doc:3', factory, { tags: ['doc:3'] })).toBe('v2');
    expect(await a.ocr.getOrSet('doc:3', factory, { tags: ['doc:3'] })).toBe('v2');
  });

  it('applies delete, clear, invalidatePattern, cascade and versioning to L3 as to Redis', async () => {
    const a = await instance();
    await a.ocr.setMany([
      { key: 'user:1:a', value: 'a' },
      { key: 'user:1:b', value: 'b' },
      { key: 'user:2:a', value: 'c' },
      { key: 'gone', value: 'g' },
    ]);
    await a.ocr.delete('gone');
    expect(await rows(`%:gone`)).toEqual([]);
    expect(await a.ocr.invalidatePattern('user:1:*')).toBe(2);
    expect(await rows(`${prefix}:%user%`)).toEqual([a.ocr.keyOf('user:2:a')]);

    await a.ocr.set('parent', 'p');
    await a.ocr.set('child', 'c', { dependsOn: ['parent'] });
    await a.ocr.namespace('ns').set('n', 1);
    await flushRedis();
    const b = await instance();
    expect(await b.ocr.get('child')).toBe('c'); // from L3
    await b.ocr.set('parent', 'p2'); // cascade: the child depended on the old parent
    await b.ocr.namespace('ns').clear();
    await flushRedis();
    const c = await instance();
    expect(await c.ocr.get('child')).toBeUndefined();
    expect(await c.ocr.namespace('ns').get('n')).toBeUndefined();
    expect(await c.ocr.get('user:2:a')).toBe('c');

    const v2 = await instance({ caches: { ocr: { tiers: ['memory', 'redis', 'postgres'], ttl: '7d', version: 2 }, plain: {} } });
    expect(await v2.ocr.get('user:2:a')).toBeUndefined();
  });

  it('a miss of a cold key reads PostgreSQL once, whether the first read is the script or a GET (mostly hits lately)', async () => {
    const counted = countingPool();
    const reads = () => counted.statements.filter((text) => text.startsWith('SELECT e.key, e.value')).length;
    const postgres = { pool: counted.pool, statementTimeout: '1s', probeInterval: '100ms', cleanup: false };
    try {
      const a = await instance({ postgres });
      counted.statements.length = 0;
      expect(await a.ocr.getOrSet('cold-miss-1', async () => 'one')).toBe('one');
      expect(reads()).toBe(1);
      // B's L1 misses find what A wrote (L2 hits): its first reads turn to plain GETs.
      for (const key of ['w1', 'w2', 'w3', 'w4']) await a.ocr.set(key, key);
      const b = await instance({ postgres });
      for (const key of ['w1', 'w2', 'w3', 'w4']) expect(await b.ocr.getOrSet(key, async () => 'recomputed')).toBe(key);
      counted.statements.length = 0;
      expect(await b.ocr.getOrSet('cold-miss-2', async () => 'two')).toBe('two');
      expect(reads()).toBe(1);
      expect(await a.ocr.get('cold-miss-2')).toBe('two');
    } finally {
      await apps.closeAll();
      await counted.close();
    }
  });

  it('runs the factory once cluster-wide on a miss in every tier, and not at all when L3 has it', async () => {
    const a = await instance();
    const b = await instance();
    let runs = 0;
    const slow = async () => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
      return 'computed';
    };
    const all = await Promise.all([...Array.from({ length: 10 }, () => a.ocr.getOrSet('hot', slow)), ...Array.from({ length: 10 }, () => b.ocr.getOrSet('hot', slow))]);
    expect(new Set(all)).toEqual(new Set(['computed']));
    expect(runs).toBe(1);
    await flushRedis();
    const c = await instance();
    const d = await instance();
    await Promise.all([...Array.from({ length: 10 }, () => c.ocr.getOrSet('hot', slow)), ...Array.from({ length: 10 }, () => d.ocr.getOrSet('hot', slow))]);
    expect(runs).toBe(1);
  });

  it('replays an invalidation made while PostgreSQL was down before it reads from it again', async () => {
    const a = await instance();
    await a.ocr.set('doc:4', 'old', { tags: ['t4'] });
    await pg.process.stop();
    try {
      await a.ocr.invalidateTags(['t4']);
      expect(a.cache.stats().l3.pending).toBeGreaterThan(0);
    } finally {
      await pg.process.start();
    }
    await waitFor(() => a.cache.stats().l3.pending === 0 && a.cache.stats().l3.state === 'closed', { message: 'the invalidation to be replayed into PostgreSQL', timeoutMs: 20_000 });
    await flushRedis();
    const b = await instance();
    expect(await b.ocr.get('doc:4')).toBeUndefined();
  });

  it('writes behind Redis when asked: acknowledged from Redis, in PostgreSQL within the flush interval, never after a later delete', async () => {
    const a = await instance({
      postgres: { url: pg.url, statementTimeout: '1s', probeInterval: '100ms', writeBehind: { flushInterval: '50ms' } },
      caches: { ocr: { tiers: ['memory', 'redis', 'postgres'], ttl: '7d', writeBehind: true }, plain: {} },
    });
    await a.ocr.set('doc:6', 'v1');
    await waitFor(async () => (await rows(a.ocr.keyOf('doc:6'))).length === 1, { message: 'the queued write to reach PostgreSQL' });
    expect(a.cache.stats().l3.queued).toBe(0);
    // A delete right behind a write: the queued write is dropped, never sent after the delete.
    for (let i = 0; i < 20; i++) {
      await a.ocr.set(`gone:${i}`, i);
      await a.ocr.delete(`gone:${i}`);
    }
    await a.cache.set('flush-marker', 1); // nothing to wait on: the queue's state is what counts
    await waitFor(() => a.cache.stats().l3.queued === 0, { message: 'the queue to drain' });
    expect(await rows(`%gone%`)).toEqual([]);
    // A write still queued is what the chain answers from after a Redis loss, not an older row.
    await a.ocr.set('doc:6', 'v2');
    await redis.client().del(a.ocr.keyOf('doc:6'));
    const b = await instance({
      postgres: { url: pg.url, statementTimeout: '1s', probeInterval: '100ms' },
      caches: { ocr: { tiers: ['memory', 'redis', 'postgres'], ttl: '7d', writeBehind: true }, plain: {} },
    });
    // Closing drains the queue first.
    await a.app.close();
    expect(await b.ocr.get('doc:6')).toBe('v2');
  });

  it('reports the cold tier in stats(), in Prometheus with tier="postgres", and in the health check', async () => {
    const registry = new Registry();
    const a = await instance({ metrics: { registry }, caches: { ocr: { tiers: ['redis', 'postgres'], ttl: '7d' }, plain: {} } });
    await a.ocr.set('doc:5', 'x');
    await a.ocr.get('missing');
    await redis.client().del(a.ocr.keyOf('doc:5'));
    expect(await a.ocr.get('doc:5')).toBe('x');
    const stats = a.cache.stats();
    expect(stats.l3).toMatchObject({ hits: 1, misses: 1, promotions: 1, errors: 0, state: 'closed', pending: 0 });
    expect(stats.caches.ocr.l3).toMatchObject({ hits: 1, misses: 1, promotions: 1 });
    expect(stats.caches.ocr.latency.l3.get.count).toBe(2);
    expect(stats.caches.ocr.latency.l3.set.count).toBe(1);
    const text = await registry.metrics();
    expect(text).toContain('strata_cache_hits_total{cache="ocr",tier="postgres"} 1');
    expect(text).toContain('strata_cache_tier_misses_total{cache="ocr",tier="postgres"} 1');
    expect(text).toContain('strata_cache_promotions_total{cache="ocr",tier="postgres"} 1');
    expect(text).toContain('strata_cache_operation_duration_seconds_count{cache="ocr",operation="get",tier="postgres"} 2');
    expect(text).toContain('strata_cache_cold_circuit_state{state="closed",tier="postgres"} 1');
    expect(text).not.toContain('cache="plain",tier="postgres"');

    const health = a.app.get(CacheHealthIndicator);
    expect(await health.check()).toMatchObject({ status: 'up', postgres: { status: 'up', breaker: 'closed', pending: 0 } });
    await pg.process.pause();
    try {
      const down = await health.check();
      expect(down.status).toBe('down');
      expect(down.postgres).toMatchObject({ status: 'down', error: expect.stringMatching(/no answer within 1000 ms/) });
    } finally {
      await pg.process.resume();
    }
  });

  it('refuses a cold tier without PostgreSQL, or without Redis, at startup with how to fix it', async () => {
    await expect(apps.create({ redis: redis.url, caches: { ocr: { tiers: ['memory', 'redis', 'postgres'] } } })).rejects.toThrow(
      /caches\.ocr\.tiers names 'postgres' but no PostgreSQL is configured; add the module's postgres option/,
    );
    await expect(apps.create({ redis: redis.url, caches: { ocr: { tiers: ['memory', 'redis', 'postgres'] } } })).rejects.toBeInstanceOf(StrataError);
    await expect(apps.create({ postgres: { url: pg.url }, caches: { ocr: { tiers: ['memory', 'postgres'] } } })).rejects.toThrow(/sits under Redis/);
  });
});
