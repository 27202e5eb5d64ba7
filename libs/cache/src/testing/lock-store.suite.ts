import { type AdaptersFactory, eventually, uniqueKey, useAdapters } from './suite-support';

/** What every `LockStore` (and the fenced write of its `RemoteStore`) must do. Skipped for adapters without a lock. */
export function registerLockStoreSuite(name: string, factory: AdaptersFactory): void {
  describe(`${name}: LockStore conformance`, () => {
    const adapters = useAdapters(factory);
    const lock = () => {
      const found = adapters.current.lock;
      if (found === undefined) throw new Error(`${name} declares no lock store`);
      return found;
    };

    it('takes a free lock once; only its token releases it', async () => {
      const key = uniqueKey('lock');
      expect(await lock().acquire(key, 'a', 60_000)).toBe(true);
      expect(await lock().acquire(key, 'b', 60_000)).toBe(false);
      expect(await lock().release(key, 'b')).toBe(false);
      expect(await lock().acquire(key, 'b', 60_000)).toBe(false);
      expect(await lock().release(key, 'a')).toBe(true);
      expect(await lock().release(key, 'a')).toBe(false);
      expect(await lock().acquire(key, 'b', 60_000)).toBe(true);
    });

    it('a lock expires after its ttl, and another holder can take it', async () => {
      const key = uniqueKey('expiring');
      expect(await lock().acquire(key, 'a', 50)).toBe(true);
      await eventually(() => lock().acquire(key, 'b', 60_000), 'the lock to expire');
      expect(await lock().release(key, 'a')).toBe(false);
      expect(await lock().release(key, 'b')).toBe(true);
    });

    it('a step reads the entry bytes, takes the lock when free, and says how long the lock has left', async () => {
      const key = uniqueKey('step');
      const first = await lock().step(key, 'a', 10_000);
      expect(first.bytes).toBeUndefined();
      expect(first.taken).toBe(true);
      expect(first.remainingMs).toBeGreaterThan(9_000);
      expect(first.remainingMs).toBeLessThanOrEqual(10_000);
      await adapters.current.remote.set(key, Buffer.from('result'), 60_000);
      const second = await lock().step(key, 'b', 10_000);
      expect(second.bytes?.toString()).toBe('result');
      expect(second.taken).toBe(false);
      expect(second.remainingMs).toBeGreaterThan(0);
      await lock().release(key, 'a');
      const third = await lock().step(key, 'c', 10_000);
      expect(third.taken).toBe(true);
    });

    it('a first step (onlyIfMissing) takes the lock only when the entry is missing: a hit takes none', async () => {
      const key = uniqueKey('first');
      const missing = await lock().step(key, 'a', 10_000, { onlyIfMissing: true });
      expect(missing.bytes).toBeUndefined();
      expect(missing.taken).toBe(true);
      const held = await lock().step(key, 'b', 10_000, { onlyIfMissing: true });
      expect(held.taken).toBe(false);
      expect(held.remainingMs).toBeGreaterThan(0);
      await adapters.current.remote.set(key, Buffer.from('result'), 60_000);
      expect(await lock().release(key, 'a')).toBe(true);
      const hit = await lock().step(key, 'c', 10_000, { onlyIfMissing: true });
      expect(hit.bytes?.toString()).toBe('result');
      expect(hit.taken).toBe(false);
      // No lock was taken by the hit: another holder gets it at once.
      expect(await lock().acquire(key, 'd', 60_000)).toBe(true);
    });

    // Small and large entries: a store may write large ones another way (Redis: through a stage key).
    it.each([
      ['a small entry', 4],
      ['a large entry', 64 * 1024],
    ])('a fenced write of %s lands only while its token holds the lock, and releases it', async (_what, size) => {
      const remote = adapters.current.remote;
      if (!remote.capabilities.fencing || remote.setFenced === undefined) return;
      const key = uniqueKey('fenced');
      const late = Buffer.alloc(size, 'l');
      const mine = Buffer.alloc(size, 'm');
      expect(await lock().acquire(key, 'old', 60_000)).toBe(true);
      expect(await lock().release(key, 'old')).toBe(true);
      expect(await lock().acquire(key, 'new', 60_000)).toBe(true);
      expect(await remote.setFenced({ key, bytes: late, ttlMs: 60_000 }, { key, token: 'old' })).toBe(false);
      expect(await remote.get(key)).toBeUndefined();
      expect(await remote.setFenced({ key, bytes: mine, ttlMs: 60_000 }, { key, token: 'new' })).toBe(true);
      expect((await remote.get(key))?.equals(mine)).toBe(true);
      // Released by the write: someone else can take it at once.
      expect(await lock().acquire(key, 'next', 60_000)).toBe(true);
      // A holder that lost the lock writes nothing, whatever was stored before.
      expect(await remote.setFenced({ key, bytes: late, ttlMs: 60_000 }, { key, token: 'new' })).toBe(false);
      expect((await remote.get(key))?.equals(mine)).toBe(true);
    });

    it('holders on two sets of adapters (two instances) exclude each other', async () => {
      const other = await adapters.another();
      const key = uniqueKey('shared');
      expect(await lock().acquire(key, 'here', 60_000)).toBe(true);
      expect(await other.lock!.acquire(key, 'there', 60_000)).toBe(false);
      expect(await lock().release(key, 'here')).toBe(true);
      expect(await other.lock!.acquire(key, 'there', 60_000)).toBe(true);
    });
  });
}
