import { type AdaptersFactory, eventually, uniqueKey, useAdapters } from './suite-support';

const bytes = (text: string) => Buffer.from(text, 'utf8');

/**
 * What every `RemoteStore` must do (bentocache's driver suite idea): call it from a jest spec with a
 * factory of your adapters. Capabilities a store does not declare are not tested; the ones it declares are.
 */
export function registerRemoteStoreSuite(name: string, factory: AdaptersFactory): void {
  describe(`${name}: RemoteStore conformance`, () => {
    const adapters = useAdapters(factory);
    const store = () => adapters.current.remote;

    it('is ready, answers a ping, and declares its capabilities consistently', async () => {
      expect(await store().whenReady(5000)).toBe(true);
      expect(store().state).toBe('ready');
      await expect(store().ping()).resolves.toBeUndefined();
      const caps = store().capabilities;
      for (const flag of ['fencing', 'scripts', 'scan', 'lock', 'boundedCalls', 'shared'] as const) expect(typeof caps[flag]).toBe('boolean');
      if (caps.fencing) expect(typeof store().setFenced).toBe('function');
      if (caps.lock) expect(adapters.current.lock).toBeDefined();
      if (caps.scan) expect(adapters.current.scanner).toBeDefined();
    });

    it('returns undefined for a key it does not hold', async () => {
      expect(await store().get(uniqueKey('missing'))).toBeUndefined();
    });

    it('stores and returns bytes exactly, binary included, and overwrites', async () => {
      const key = uniqueKey('bytes');
      const value = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x00, 0x7b]);
      await store().set(key, value, 60_000);
      expect((await store().get(key))?.equals(value)).toBe(true);
      await store().set(key, bytes('second'), 60_000);
      expect((await store().get(key))?.toString()).toBe('second');
    });

    it('reads many keys in order, with undefined for the missing ones', async () => {
      const [a, b, c] = [uniqueKey('m1'), uniqueKey('m2'), uniqueKey('m3')];
      await store().setMany([
        { key: a, bytes: bytes('one'), ttlMs: 60_000 },
        { key: c, bytes: bytes('three'), ttlMs: 60_000 },
      ]);
      const got = await store().getMany([a, b, c]);
      expect(got.map((value) => value?.toString())).toEqual(['one', undefined, 'three']);
      expect(await store().getMany([])).toEqual([]);
      await store().setMany([]);
    });

    it('a ttl of 0 or less deletes the key', async () => {
      const key = uniqueKey('zero-ttl');
      await store().set(key, bytes('v'), 60_000);
      await store().set(key, bytes('gone'), 0);
      expect(await store().get(key)).toBeUndefined();
      await store().set(key, bytes('v'), 60_000);
      await store().setMany([{ key, bytes: bytes('gone'), ttlMs: -5 }]);
      expect(await store().get(key)).toBeUndefined();
    });

    it('forgets a key once its ttl has passed', async () => {
      const key = uniqueKey('ttl');
      await store().set(key, bytes('short'), 30);
      await eventually(async () => (await store().get(key)) === undefined, 'the key to expire');
    });

    it('deletes keys and says how many existed; a missing key is fine', async () => {
      const [a, b] = [uniqueKey('d1'), uniqueKey('d2')];
      await store().setMany([
        { key: a, bytes: bytes('1'), ttlMs: 60_000 },
        { key: b, bytes: bytes('2'), ttlMs: 60_000 },
      ]);
      const removed = await store().delete([a, uniqueKey('never')]);
      expect(removed === 1 || removed === 0).toBe(true); // 0: a store that cannot tell
      expect(await store().get(a)).toBeUndefined();
      expect((await store().get(b))?.toString()).toBe('2');
      expect(await store().delete([])).toBe(0);
    });

    it('increments a counter atomically from concurrent callers, and a new counter lives its ttl', async () => {
      const key = uniqueKey('ctr');
      const results = await Promise.all(Array.from({ length: 50 }, () => store().increment(key, 1, 60_000)));
      expect([...results].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await store().increment(key, 10, 60_000)).toBe(60);
      expect(await store().increment(uniqueKey('neg'), -3, 60_000)).toBe(-3);
      const short = uniqueKey('ctr-ttl');
      expect(await store().increment(short, 1, 30)).toBe(1);
      await eventually(async () => (await store().increment(short, 0, 30)) === 0, 'the counter to expire');
    });

    it('deleteIfSame removes the bytes it was given, never a newer write', async () => {
      const deleteIfSame = store().deleteIfSame?.bind(store());
      if (deleteIfSame === undefined) return;
      const key = uniqueKey('cas');
      await store().set(key, bytes('old'), 60_000);
      await deleteIfSame(key, bytes('other'));
      expect((await store().get(key))?.toString()).toBe('old');
      await deleteIfSame(key, bytes('old'));
      expect(await store().get(key)).toBeUndefined();
    });
  });
}
