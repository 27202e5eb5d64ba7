import fc from 'fast-check';
import { InvalidArgumentError } from '../src';
import { waitFor } from './harness';
import { KeySpace } from '../src/core/keys';
import { globMatcher } from '../src/core/glob';
import { RecordingLogger } from './cache-factory';
import { useInvalidationSuite } from './invalidation-suite';

/** Pattern invalidation and versioned keys, on a Redis where KEYS does not exist (renamed away). */
describe('invalidatePattern and versions', () => {
  const { redis, apps, admin, prefix } = useInvalidationSuite('pat');

  it('KEYS really is unavailable on this server', async () => {
    await expect(admin().call('KEYS', '*')).rejects.toThrow(/unknown command/i);
  });

  it('removes the matching keys of the view with SCAN + UNLINK, returns the count, keeps the rest and counters', async () => {
    const p = prefix();
    const { cache } = await apps.create({ redis: redis.url, prefix: p, invalidation: { scanCount: 7 } });
    const items = Array.from({ length: 60 }, (_, i) => ({ key: `user:${i % 3}:doc:${i}`, value: i }));
    await cache.setMany(items);
    await cache.namespace('other').set('user:1:doc:0', 'elsewhere');
    await cache.increment('user:1:calls', 5);
    await admin().config('RESETSTAT');
    expect(await cache.invalidatePattern('user:1:*')).toBe(20);
    const stats = await admin().info('commandstats');
    expect(stats).toMatch(/cmdstat_scan:calls=\d+/);
    expect(stats).toMatch(/cmdstat_unlink:calls=\d+/);
    expect(stats).not.toMatch(/cmdstat_keys:/);
    for (const { key, value } of items) expect(await cache.get(key)).toBe(key.startsWith('user:1:') ? undefined : value);
    expect(await cache.namespace('other').get('user:1:doc:0')).toBe('elsewhere');
    expect(await cache.increment('user:1:calls', 1)).toBe(6); // counters are not entries
    expect(await cache.invalidatePattern('user:1:*')).toBe(0);
  });

  it('treats every character of the glob but * and ? literally (a backslash escapes one): caller input cannot widen it', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: prefix() });
    await cache.setMany(['[abc]', 'a', 'b', 'a\\b', 'x:1', 'x%3A1', 'é?', 'é!'].map((key) => ({ key, value: key })));
    expect(await cache.invalidatePattern('[abc]')).toBe(1);
    expect(await cache.get('a')).toBe('a');
    expect(await cache.get('[abc]')).toBeUndefined();
    expect(await cache.invalidatePattern('a\\\\*')).toBe(1); // the glob a\\* : an escaped (literal) backslash, then any run
    expect(await cache.get('a\\b')).toBeUndefined();
    expect(await cache.invalidatePattern('x:*')).toBe(1); // ':' is escaped the way keys are
    expect(await cache.get('x%3A1')).toBe('x%3A1');
    // '?' in the glob is a wildcard; in a key it is a literal, stored escaped ('é%3F'), so out of its reach.
    expect(await cache.invalidatePattern('é?')).toBe(1);
    expect(await cache.getMany(['é?', 'é!'])).toEqual(['é?', undefined]);
    await expect(cache.invalidatePattern('')).rejects.toThrow(InvalidArgumentError);
  });

  it('drops the L1 copies of a memory-only cache and says how many', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: prefix(), caches: { local: { tiers: ['memory'] } } });
    const local = cache.cache('local');
    await local.setMany([{ key: 'a:1', value: 1 }, { key: 'a:2', value: 2 }, { key: 'b:1', value: 3 }]);
    expect(await local.invalidatePattern('a:*')).toBe(2);
    expect(await local.getMany(['a:1', 'a:2', 'b:1'])).toEqual([undefined, undefined, 3]);
  });

  it('a walk cut short (Redis paused) is retried in the background until no matching key is left', async () => {
    const p = prefix();
    const logger = new RecordingLogger();
    const options = { redis: redis.url, prefix: p, commandTimeout: 50, probeInterval: 50, logger };
    const a = await apps.create(options);
    const b = await apps.create({ redis: redis.url, prefix: p });
    await a.cache.setMany(Array.from({ length: 300 }, (_, i) => ({ key: `doc:${i}`, value: i })));
    expect(await b.cache.get('doc:1')).toBe(1); // in B's L1
    await redis.process.pause();
    let removed: number;
    try {
      removed = await a.cache.invalidatePattern('doc:*');
    } finally {
      await redis.process.resume();
    }
    expect(removed).toBe(0);
    expect(logger.count(/stopped after 0 keys .* it will be run again until it completes/)).toBe(1);
    const left = async () => (await admin().scan('0', 'MATCH', `${p}:*doc*`, 'COUNT', 10_000))[1].length;
    await waitFor(async () => (await left()) === 0, { timeoutMs: 30_000, message: 'the walk to be run again' });
    await waitFor(async () => (await b.cache.get('doc:1')) === undefined, { message: 'B to drop its copy' });
  });

  it('with strict, a walk cut short rejects (and is still completed later)', async () => {
    const p = prefix();
    const { cache } = await apps.create({ redis: redis.url, prefix: p, commandTimeout: 50, strict: true });
    await cache.set('doc:1', 1);
    await redis.process.pause();
    try {
      await expect(cache.invalidatePattern('doc:*')).rejects.toThrow(/invalidatePattern stopped after 0 keys; it is retried in the background/);
    } finally {
      await redis.process.resume();
    }
    await waitFor(async () => (await admin().exists(cache.keyOf('doc:1'))) === 0, { timeoutMs: 30_000 });
  });

  it('property: invalidating one tenant by pattern or tags never touches another tenant', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const reader = await apps.create({ redis: redis.url, prefix: p }); // reads Redis, not a's L1
    const text = fc.string({
      unit: fc.constantFrom('a', 'b', ':', '*', '?', '[', ']', '\\', '{', '}', '=', '#', '%', 'é', '日', '😀', 't'),
      minLength: 1,
      maxLength: 6,
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(text, text).filter(([x, y]) => x !== y),
        fc.uniqueArray(text, { minLength: 1, maxLength: 5 }),
        fc.array(text, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        async ([tenantA, tenantB], keys, tags, pick) => {
          const ns = `run${run++}`;
          const viewA = a.cache.namespace(ns).forTenant(tenantA);
          const viewB = a.cache.namespace(ns).forTenant(tenantB);
          const items = keys.map((key, i) => ({ key, value: `${key}#${i}`, tags: [tags[i % tags.length]] }));
          await viewA.setMany(items);
          await viewB.setMany(items);
          // A glob from one of A's keys with wildcards in it, then every tag of A.
          const base = keys[pick % keys.length];
          const glob = [...base].map((ch, i) => (i % 2 === 1 ? '*' : ch)).join('') + (pick % 2 ? '*' : '?');
          await viewA.invalidatePattern(glob);
          await viewA.invalidatePattern('*');
          await viewA.invalidateTags(tags);
          const readB = reader.cache.namespace(ns).forTenant(tenantB);
          const afterB = await readB.getMany(keys);
          const afterA = await reader.cache.namespace(ns).forTenant(tenantA).getMany(keys);
          const exists = await Promise.all(keys.map((key) => admin().exists(viewB.keyOf(key))));
          return afterB.every((v, i) => v === items[i].value) && exists.every((e) => e === 1) && afterA.every((v) => v === undefined);
        },
      ),
      { numRuns: 60 },
    );
  }, 180_000);

  it('property: the L1 matcher drops exactly the keys Redis SCAN MATCH finds (bytes, unicode, escapes)', async () => {
    const space = new KeySpace({ prefix: 'glob', namespace: 'n', name: 'c' });
    const unit = fc.constantFrom('a', 'b', ':', '*', '?', '[', ']', '\\', '%', 'é', '日', '😀');
    const client = redis.client();
    await client.select(3);
    let matched = 0;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.string({ unit, minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 12 }), fc.string({ unit, minLength: 1, maxLength: 5 }), fc.nat(), async (keys, random, pick) => {
        // Half the globs come from a key with wildcards put in, so that many runs match something.
        const from = [...keys[pick % keys.length]];
        const glob = pick % 2 ? random : from.map((ch, i) => (i === pick % from.length ? (pick % 3 ? '?' : '*') : ch)).join('');
        await client.flushdb();
        const full = keys.map((key) => space.key(key));
        await client.mset(...full.flatMap((key) => [key, '1']));
        const pattern = space.pattern(glob);
        const [, found] = await client.scan('0', 'MATCH', pattern, 'COUNT', 1000);
        const matches = globMatcher(pattern);
        if (found.length > 0) matched += 1;
        return JSON.stringify([...found].sort()) === JSON.stringify(full.filter(matches).sort());
      }),
      { numRuns: 200 },
    );
    expect(matched).toBeGreaterThan(20); // not a vacuous property: many runs match something (typically 40-60)
    client.disconnect();
  });

  it('version: part of the key; bumping it leaves old entries unreachable, while instances on the old version keep theirs', async () => {
    const p = prefix();
    const v1 = await apps.create({ redis: redis.url, prefix: p, caches: { scores: { version: 1 } } });
    const v2 = await apps.create({ redis: redis.url, prefix: p, caches: { scores: { version: 2 } } });
    const old = v1.cache.cache('scores');
    const next = v2.cache.cache('scores');
    expect(old.keyOf('t:1')).toBe(`${p}:default:scores#v1:t%3A1`);
    await old.set('t:1', { score: 1 });
    expect(await next.get('t:1')).toBeUndefined();
    await next.set('t:1', { score: 1, detail: 'new shape' });
    expect(await old.get('t:1')).toEqual({ score: 1 }); // a rolling deploy: old instances keep their cache
    expect(await next.get('t:1')).toEqual({ score: 1, detail: 'new shape' });
    // Tags span versions: invalidating one invalidates both.
    await old.set('t:2', 'a', { tags: ['template:2'] });
    await next.set('t:2', 'b', { tags: ['template:2'] });
    await next.invalidateTags(['template:2']);
    await waitFor(async () => (await old.get('t:2')) === undefined);
    expect(await next.get('t:2')).toBeUndefined();
    // A pattern of one version never reaches another (t:2, invalidated by tag, is still in Redis until removed).
    expect(await next.invalidatePattern('*')).toBe(2);
    expect(await old.get('t:1')).toEqual({ score: 1 });
    // The module's version applies to the default cache and to named caches that set none.
    const mod = await apps.create({ redis: redis.url, prefix: p, version: '2024-06', caches: { x: {} } });
    expect(mod.cache.keyOf('k')).toBe(`${p}:default:default#v2024-06:k`);
    expect(mod.cache.cache('x').keyOf('k')).toBe(`${p}:default:x#v2024-06:k`);
    await expect(apps.create({ redis: redis.url, version: '' })).rejects.toThrow(/version must be a non-empty string or a number/);
  });
});
