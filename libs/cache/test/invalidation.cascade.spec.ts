import { waitFor } from './harness';
import { useInvalidationSuite } from './invalidation-suite';

/** Cascading invalidation (`dependsOn`), on real Redis with two instances. */
describe('dependsOn cascade', () => {
  const { redis, apps, admin, prefix } = useInvalidationSuite('dep');

  it('deleting or overwriting a key invalidates its dependents, on every instance', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const b = await apps.create({ redis: redis.url, prefix: p });
    await a.cache.set('user:1', { name: 'Ada' });
    await a.cache.set('page:1', '<h1>Ada</h1>', { dependsOn: ['user:1'] });
    expect(await b.cache.get('page:1')).toBe('<h1>Ada</h1>');
    await a.cache.delete('user:1');
    expect(await a.cache.get('page:1')).toBeUndefined();
    await waitFor(async () => (await b.cache.get('page:1')) === undefined, { message: 'B to apply the dependency time' });

    await a.cache.set('user:1', { name: 'Ada' });
    await a.cache.set('page:1', '<h1>Ada</h1>', { dependsOn: ['user:1'] });
    expect(await b.cache.get('page:1')).toBe('<h1>Ada</h1>');
    await b.cache.set('user:1', { name: 'Ada Lovelace' }); // an update from B this time
    await waitFor(async () => (await a.cache.get('page:1')) === undefined);
    expect(await b.cache.get('page:1')).toBeUndefined();
  });

  it('writes in flight together look for their dependency records in one read, and the tracked one still cascades', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const b = await apps.create({ redis: redis.url, prefix: p });
    await a.cache.set('user:7', { name: 'Ada' });
    await a.cache.set('page:7', '<h1>Ada</h1>', { dependsOn: ['user:7'] });
    expect(await b.cache.get('page:7')).toBe('<h1>Ada</h1>');
    const mgets = async () => Number(/cmdstat_mget:calls=(\d+)/.exec(await admin().info('commandstats'))?.[1] ?? 0);
    const before = await mgets();
    const keys = [...Array.from({ length: 19 }, (_, i) => `other:${i}`), 'user:7'];
    await Promise.all(keys.map((key) => a.cache.set(key, { name: 'Ada Lovelace' })));
    // One MGET per tick of replies (and the other instance's times, if it reloads any), not one per write.
    expect((await mgets()) - before).toBeLessThan(keys.length / 2);
    expect(await a.cache.get('page:7')).toBeUndefined();
    await waitFor(async () => (await b.cache.get('page:7')) === undefined, { message: 'B to apply the dependency time' });
  });

  it('a value set in the same millisecond as the overwrite it depends on is current, not a miss', async () => {
    const p = prefix();
    // The clock stands still: every step below happens in one millisecond.
    const { cache } = await apps.create({ redis: redis.url, prefix: p }, { fakeClock: true });
    await cache.set('user:1', { name: 'Ada' });
    await cache.set('page:1', '<h1>Ada</h1>', { dependsOn: ['user:1'] });
    await cache.set('user:1', { name: 'Ada Lovelace' }); // invalidates page:1 (dep:user:1 at this ms)
    expect(await cache.get('page:1')).toBeUndefined();
    await cache.set('page:1', '<h1>Ada Lovelace</h1>', { dependsOn: ['user:1'] }); // written after it
    expect(await cache.get('page:1')).toBe('<h1>Ada Lovelace</h1>');
    const { cache: other } = await apps.create({ redis: redis.url, prefix: p });
    expect(await other.get('page:1')).toBe('<h1>Ada Lovelace</h1>');
  });

  it('is transitive: deleting or tag-invalidating anything upstream reaches every level', async () => {
    const p = prefix();
    const { cache } = await apps.create({ redis: redis.url, prefix: p });
    let runs = 0;
    const build = async () => {
      await cache.getOrSet('a', () => 'A', { tags: ['source'] });
      await cache.getOrSet('b', () => `B(${runs})`, { dependsOn: ['a'] });
      return cache.getOrSet('c', () => `C(${runs++})`, { dependsOn: ['b'] });
    };
    expect(await build()).toBe('C(0)');
    await cache.delete('a');
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('c')).toBeUndefined();
    expect(await build()).toBe('C(1)');
    await cache.invalidateTags(['source']); // a's tag: b and c inherited it
    expect(await cache.get('c')).toBeUndefined();
    expect(await build()).toBe('C(2)');
    expect(await cache.get('c')).toBe('C(2)');
  });

  it('an invalidation that lands while the factory runs covers its result (it may have read the old data)', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: prefix() });
    await cache.set('user:1', 'old');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const page = cache.getOrSet(
      'page:1',
      async () => {
        started = true;
        const user = await cache.get('user:1');
        await gate;
        return `page of ${user}`;
      },
      { dependsOn: ['user:1'], tags: ['pages'] },
    );
    await waitFor(() => started);
    await cache.delete('user:1');
    release();
    expect(await page).toBe('page of old'); // the caller gets what the factory made...
    expect(await cache.get('page:1')).toBeUndefined(); // ...but nobody is served it afterwards

    // The same for a tag invalidated mid-factory.
    let release2!: () => void;
    const gate2 = new Promise<void>((resolve) => (release2 = resolve));
    let started2 = false;
    const second = cache.getOrSet('page:2', async () => ((started2 = true), await gate2, 'built'), { tags: ['pages'] });
    await waitFor(() => started2);
    await cache.invalidateTags(['pages']);
    release2();
    expect(await second).toBe('built');
    expect(await cache.get('page:2')).toBeUndefined();
  });

  it('costs a record in Redis only for keys something depends on', async () => {
    const p = prefix();
    const { cache } = await apps.create({ redis: redis.url, prefix: p });
    await cache.setMany(Array.from({ length: 50 }, (_, i) => ({ key: `plain:${i}`, value: i })));
    await cache.delete(Array.from({ length: 50 }, (_, i) => `plain:${i}`));
    const inv = (key: string) => `${p}:__inv:dep:${cache.keyOf(key)}`;
    expect(await admin().exists(...Array.from({ length: 50 }, (_, i) => inv(`plain:${i}`)))).toBe(0);
    await cache.set('src', 1);
    await cache.set('derived', 2, { dependsOn: ['src'], ttl: '1h' });
    expect(await admin().get(inv('src'))).toBe('0');
    expect(await admin().pttl(inv('src'))).toBeGreaterThan(3_500_000); // lives as long as the dependent
    await cache.delete('src');
    expect(Number(await admin().get(inv('src')))).toBeGreaterThan(0);
  });

  it('works memory-only too', async () => {
    const { cache } = await apps.create({});
    await cache.set('user:1', 'Ada');
    await cache.set('page:1', 'page', { dependsOn: ['user:1'] });
    await cache.set('plain', 'p');
    await cache.delete('user:1');
    expect(await cache.get('page:1')).toBeUndefined();
    expect(await cache.get('plain')).toBe('p');
  });
});
