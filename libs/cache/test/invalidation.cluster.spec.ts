import { type RedisClusterProcess, startCluster, waitFor } from './harness';
import { CacheFactory } from './cache-factory';
import { WITHOUT_KEYS } from './invalidation-suite';

/** The bus and pattern invalidation on a real Redis Cluster (3 masters, KEYS renamed away). */
describe('Invalidation on a Redis Cluster', () => {
  let cluster: RedisClusterProcess;
  const apps = new CacheFactory();
  let n = 0;
  const options = () => ({ redis: { cluster: [...cluster.startupNodes] }, prefix: `cl${++n}` });

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, replicasPerMaster: 0, config: WITHOUT_KEYS });
  }, 180_000);
  afterEach(() => apps.closeAll());
  afterAll(async () => {
    await cluster?.stop();
  });

  it('the bus subscribes on a node and carries deletes and tag times between instances', async () => {
    const shared = options();
    const a = await apps.create(shared);
    const b = await apps.create(shared);
    expect(a.cache.stats().bus.state).toBe('up');
    expect(b.cache.stats().bus.state).toBe('up');
    await a.cache.set('k', 'v1', { tags: ['t'] });
    await a.cache.set('other', 'o', { tags: ['u'] });
    expect(await b.cache.getMany(['k', 'other'])).toEqual(['v1', 'o']);
    await a.cache.delete('k');
    await waitFor(async () => (await b.cache.get('k')) === undefined, { message: 'B to drop k' });
    await a.cache.invalidateTags(['u']);
    await waitFor(async () => (await b.cache.get('other')) === undefined, { message: 'B to apply the tag time' });

    // A message that reached the bus log (on the master of its slot) but not B's subscriber, as when a
    // subscription drops in between; then every subscriber connection killed on every node: B
    // resubscribes (on any node), reads the message back from the log, and keeps the rest of its L1.
    const heard = b.cache.stats().bus.received;
    await a.cache.setMany([{ key: 'x', value: 'x1' }, { key: 'y', value: 'y1' }]);
    // A's announcement of x and y heard first: killed in B's socket, it would be read back too (2, not 1).
    await waitFor(() => b.cache.stats().bus.received > heard, { message: "B to hear A's setMany" });
    expect(await b.cache.getMany(['x', 'y'])).toEqual(['x1', 'y1']);
    const log = `${shared.prefix}:{__bus}:log`; // the bus log (README: ACL and key layout)
    await cluster.client().xadd(log, '*', 'm', JSON.stringify({ o: 'elsewhere', at: Date.now(), k: [b.cache.keyOf('x')] }));
    for (const master of cluster.masters) await master.client().client('KILL', 'TYPE', 'pubsub');
    await waitFor(() => b.cache.stats().bus.reconciles >= 1 && b.cache.stats().bus.state === 'up', { timeoutMs: 30_000 });
    expect(b.cache.stats().bus).toMatchObject({ recovered: 1, clears: 0 });
    const inL1 = b.inspector.l1Keys();
    expect(inL1).toContain(b.cache.keyOf('y'));
    expect(inL1).not.toContain(b.cache.keyOf('x'));
    await a.cache.set('k', 'v2');
    expect(await b.cache.get('k')).toBe('v2');
    await a.cache.set('k', 'v3');
    await waitFor(async () => (await b.cache.get('k')) === 'v3', { message: 'B to hear from A again' });
  });

  it('invalidatePattern scans every master and leaves no matching key anywhere', async () => {
    const shared = options();
    const a = await apps.create(shared);
    const b = await apps.create(shared);
    await a.cache.setMany(Array.from({ length: 300 }, (_, i) => ({ key: `doc:${i}`, value: i })));
    await a.cache.setMany(Array.from({ length: 30 }, (_, i) => ({ key: `keep:${i}`, value: i })));
    expect(await b.cache.get('doc:7')).toBe(7);
    const pattern = a.cache.keyOf('doc:') + '*';
    const perMaster = async () =>
      Promise.all(cluster.masters.map(async (m) => (await m.client().scan('0', 'MATCH', pattern, 'COUNT', 10_000))[1].length));
    const before = await perMaster();
    expect(before.every((count) => count > 0)).toBe(true); // the keys really are spread over the masters
    expect(await a.cache.invalidatePattern('doc:*')).toBe(300);
    expect(await perMaster()).toEqual([0, 0, 0]);
    await waitFor(async () => (await b.cache.get('doc:7')) === undefined, { message: 'B to drop its L1 copy' });
    expect(await b.cache.get('keep:3')).toBe(3);
  });

  it('the hard purge removes a tag\'s keys on every master, and nothing else', async () => {
    const shared = { ...options(), invalidation: { purge: true, scanCount: 50 } };
    const a = await apps.create(shared);
    const b = await apps.create(shared);
    await a.cache.setMany(Array.from({ length: 300 }, (_, i) => ({ key: `doc:${i}`, value: i, tags: ['docs'] })));
    await a.cache.setMany(Array.from({ length: 30 }, (_, i) => ({ key: `keep:${i}`, value: i, tags: ['keep'] })));
    for (let i = 300; i < 310; i++) await a.cache.set(`doc:${i}`, i, { tags: ['docs'] }); // single writes are indexed too
    expect(await b.cache.get('doc:7')).toBe(7);
    const perMaster = async (pattern: string) =>
      Promise.all(cluster.masters.map(async (m) => (await m.client().scan('0', 'MATCH', pattern, 'COUNT', 10_000))[1].length));
    const docs = a.cache.keyOf('doc:') + '*';
    expect((await perMaster(docs)).every((count) => count > 0)).toBe(true); // spread over the masters
    await a.cache.invalidateTags(['docs']);
    await waitFor(async () => (await perMaster(docs)).every((count) => count === 0), { timeoutMs: 30_000, message: 'every master purged' });
    await waitFor(async () => (await perMaster(`${shared.prefix}:__tagkeys*purging*`)).every((count) => count === 0));
    expect((await perMaster(a.cache.keyOf('keep:') + '*')).reduce((sum, n) => sum + n, 0)).toBe(30);
    expect(a.cache.stats().purged).toBe(310);
    expect(await b.cache.get('doc:7')).toBeUndefined();
    expect(await b.cache.get('keep:3')).toBe(3);
  });
});
