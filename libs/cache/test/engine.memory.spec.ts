import { MemoryBackend } from '../src/memory/memory-backend';
import { MemoryAdapters } from '../src/memory/memory.adapters';
import { waitFor } from './harness';
import { CacheFactory } from './cache-factory';

/**
 * The engine's cross-instance behaviour on the in-process adapters: two caches on one `MemoryBackend`
 * act as two instances on one Redis (L2, bus, lock, invalidation times), with no server. The same
 * behaviours are proven on a real Redis by the fault, bus and resilience suites.
 */
describe('the engine on the memory adapters', () => {
  const apps = new CacheFactory();
  let backend: MemoryBackend;
  const instance = (extra: Record<string, unknown> = {}, fakeClock = false) =>
    apps.create({ store: new MemoryAdapters({ backend }), ...extra }, { fakeClock });

  beforeEach(() => {
    backend = new MemoryBackend();
  });
  afterEach(() => apps.closeAll());

  it('a value one instance writes is an L2 hit on the other; its delete reaches the other L1 over the bus', async () => {
    const a = await instance();
    const b = await instance();
    expect(a.cache.stats().bus.state).toBe('up');
    await a.cache.set('k', { n: 1 });
    expect(await b.cache.get('k')).toEqual({ n: 1 });
    expect(b.cache.stats().l2.hits).toBe(1);
    expect(await b.cache.get('k')).toEqual({ n: 1 });
    expect(b.cache.stats().l1.hits).toBe(1);
    await a.cache.delete('k');
    await waitFor(() => b.cache.stats().bus.received >= 1, { message: 'B to hear the delete' });
    expect(await b.cache.get('k')).toBeUndefined();
  });

  it('a tag invalidated on one instance is invalid on the other at once (O(1): a time, nothing scanned)', async () => {
    const a = await instance();
    const b = await instance();
    await a.cache.set('x', 1, { tags: ['t'] });
    await a.cache.set('y', 2, { tags: ['u'] });
    expect(await b.cache.getMany(['x', 'y'])).toEqual([1, 2]);
    await b.cache.invalidateTags(['t']);
    expect(await a.cache.getMany(['x', 'y'])).toEqual([undefined, 2]);
  });

  it('two instances missing the same key run its factory once: the other waits on the lock and takes the result', async () => {
    const a = await instance({ lock: { ttl: '2s', pollInterval: '10ms' } });
    const b = await instance({ lock: { ttl: '2s', pollInterval: '10ms' } });
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const factory = async () => {
      runs += 1;
      await gate;
      return 'computed';
    };
    const first = a.cache.getOrSet('k', factory);
    await waitFor(() => runs === 1, { message: 'the first factory to start' });
    const second = b.cache.getOrSet('k', factory);
    release();
    expect(await Promise.all([first, second])).toEqual(['computed', 'computed']);
    expect(runs).toBe(1);
    const locks = [a.cache.stats().lock, b.cache.stats().lock];
    expect(locks.map((l) => l.acquired).sort()).toEqual([0, 1]);
    expect(locks.map((l) => l.waited).sort()).toEqual([0, 1]);
  });

  it('stale within grace is served at once and refreshed in the background; fail-safe stands in for a failing factory', async () => {
    const a = await instance({ ttl: '10s', grace: '1m', failSafe: { window: '1h', throttle: '1s' } }, true);
    await a.cache.set('k', 'v1');
    a.clock.advance(11_000);
    expect(await a.cache.getOrSet('k', () => 'v2')).toBe('v1');
    await a.inspector.settled();
    expect(await a.cache.getOrSet('k', () => 'v3')).toBe('v2');
    a.clock.advance(120_000); // past grace: only fail-safe may serve the stale copy
    expect(await a.cache.getOrSet('k', () => Promise.reject(new Error('down')))).toBe('v2');
    expect(a.cache.stats().failSafe).toBe(1);
  });

  it('a delete made while the store is down is replayed when it comes back, and announced: no instance serves the old value', async () => {
    const a = await instance({ probeInterval: '20ms', failureThreshold: 1 });
    const b = await instance({ probeInterval: '20ms', failureThreshold: 1 });
    await a.cache.set('k', 'old');
    expect(await b.cache.get('k')).toBe('old');
    backend.fail('test outage');
    await waitFor(() => a.cache.stats().l2.state === 'open', { message: "A's breaker to open" });
    await a.cache.delete('k');
    // The key, and its dependency time (whether something depends on it cannot be asked while the store is down).
    expect(a.cache.stats().l2.pending).toBe(2);
    backend.recover();
    await waitFor(() => a.cache.stats().l2.state === 'closed' && a.cache.stats().l2.pending === 0, { message: 'A to replay the delete' });
    await waitFor(async () => (await b.cache.get('k')) === undefined, { message: 'B to drop the old value' });
    expect(backend.bytes.has(a.cache.keyOf('k'))).toBe(false);
  });

  it('more deletes during an outage than can be listed: once the store is back, the whole namespace is invalidated', async () => {
    const a = await instance({ probeInterval: '20ms', failureThreshold: 1 });
    const b = await instance({ probeInterval: '20ms', failureThreshold: 1 });
    await a.cache.set('kept-elsewhere', 'old');
    expect(await b.cache.get('kept-elsewhere')).toBe('old');
    backend.fail('test outage');
    await waitFor(() => a.cache.stats().l2.state === 'open', { message: "A's breaker to open" });
    await a.cache.delete(Array.from({ length: 10_001 }, (_, i) => `gone:${i}`));
    backend.recover();
    await waitFor(() => a.cache.stats().l2.state === 'closed' && a.cache.stats().l2.pending === 0, { message: 'A to replay' });
    // Never deleted by name, but its namespace was invalidated whole: no instance serves it.
    await waitFor(async () => (await b.cache.get('kept-elsewhere')) === undefined, { message: 'B to stop serving it' });
    expect(await a.cache.get('kept-elsewhere')).toBeUndefined();
  });

  it('redis and store are two ways to give L2: both at once fail at startup, saying so', async () => {
    await expect(apps.create({ redis: 'redis://127.0.0.1:1', store: new MemoryAdapters() })).rejects.toThrow(/redis and store are two ways/);
    await expect(apps.create({ store: {} as MemoryAdapters })).rejects.toThrow(/store must be a set of adapters/);
  });

  it('a memory-only cache stays memory-only: no store, no L2 state', async () => {
    const plain = await apps.create({});
    expect(plain.cache.stats().l2.state).toBe('disabled');
  });
});
