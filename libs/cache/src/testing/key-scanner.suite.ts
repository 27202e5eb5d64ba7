import { type AdaptersFactory, uniqueKey, useAdapters } from './suite-support';

/** What every `KeyScanner` and `TagIndex` must do. A part the adapters do not declare is skipped. */
export function registerKeyScannerSuite(name: string, factory: AdaptersFactory): void {
  describe(`${name}: KeyScanner and TagIndex conformance`, () => {
    const adapters = useAdapters(factory);

    it('deletes the keys a pattern matches, in batches, except those to keep; counts what it removed', async () => {
      const scanner = adapters.current.scanner;
      if (scanner === undefined) return;
      const remote = adapters.current.remote;
      const base = uniqueKey('scan');
      const keys = Array.from({ length: 25 }, (_, i) => `${base}:user:${i}`);
      await remote.setMany(keys.map((key) => ({ key, bytes: Buffer.from('v'), ttlMs: 60_000 })));
      const kept = `${base}:user:counter`;
      await remote.increment(kept, 1, 60_000);
      const other = `${base}:order:1`;
      await remote.set(other, Buffer.from('o'), 60_000);
      const progress = { removed: 0 };
      await scanner.deleteMatching(`${base}:user:*`, { count: 10, pause: 0, keep: (key) => key === kept }, progress);
      expect(progress.removed).toBe(25);
      expect((await remote.getMany(keys)).every((value) => value === undefined)).toBe(true);
      expect(await remote.increment(kept, 1, 60_000)).toBe(2);
      expect((await remote.get(other))?.toString()).toBe('o');
    });

    it('? matches one byte and every other character is literal', async () => {
      const scanner = adapters.current.scanner;
      if (scanner === undefined) return;
      const remote = adapters.current.remote;
      const base = uniqueKey('glob');
      await remote.setMany(['a1', 'a22', 'b1', 'a.'].map((k) => ({ key: `${base}:${k}`, bytes: Buffer.from('v'), ttlMs: 60_000 })));
      const progress = { removed: 0 };
      await scanner.deleteMatching(`${base}:a?`, { count: 100, pause: 0 }, progress);
      expect(progress.removed).toBe(2);
      const left = await remote.getMany(['a1', 'a22', 'b1', 'a.'].map((k) => `${base}:${k}`));
      expect(left.map((value) => value !== undefined)).toEqual([false, true, true, false]);
    });

    it('a tag index lists the keys written with a tag; detached, it pops them soonest to expire first', async () => {
      const index = adapters.current.tagIndex;
      if (index === undefined) return;
      const tag = uniqueKey('tag:x');
      const base = uniqueKey('tagged');
      await index.add([{ ids: [tag], indexTtlMs: 120_000, keys: [
        { key: `${base}:late`, ttlMs: 90_000 },
        { key: `${base}:soon`, ttlMs: 10_000 },
        { key: `${base}:middle`, ttlMs: 50_000 },
      ] }]);
      const snapshot = await index.detach(tag);
      expect(snapshot).toBeDefined();
      // Writes after the detach start a fresh index, untouched by the walk.
      await index.add([{ ids: [tag], indexTtlMs: 120_000, keys: [{ key: `${base}:after`, ttlMs: 60_000 }] }]);
      expect(await index.pop(snapshot!, 2)).toEqual([`${base}:soon`, `${base}:middle`]);
      expect(await index.pop(snapshot!, 2)).toEqual([`${base}:late`]);
      expect(await index.pop(snapshot!, 2)).toEqual([]);
      const fresh = await index.detach(tag);
      expect(await index.pop(fresh!, 10)).toEqual([`${base}:after`]);
      expect(await index.detach(uniqueKey('tag:none'))).toBeUndefined();
    });

    it('one group of several tags indexes its keys under each tag', async () => {
      const index = adapters.current.tagIndex;
      if (index === undefined) return;
      const [t1, t2] = [uniqueKey('tag:1'), uniqueKey('tag:2')];
      const key = uniqueKey('both');
      await index.add([{ ids: [t1, t2], indexTtlMs: 120_000, keys: [{ key, ttlMs: 60_000 }] }]);
      for (const tag of [t1, t2]) expect(await index.pop((await index.detach(tag))!, 10)).toEqual([key]);
    });
  });
}
